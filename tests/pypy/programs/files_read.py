# Reading files from a read-only mount (/data, the fixture tree the test
# makes): text and binary, seek and tell, line by line, stat, listdir, walk,
# access.
from __future__ import print_function
import os
import stat

with open("/data/hello.txt") as f:
    print(repr(f.readline()))
    print(repr(f.read()))
    f.seek(6)
    print(f.tell(), repr(f.read(4)))

with open("/data/numbers.bin", "rb") as f:
    data = f.read()
    print(len(data), data[:4] == b"\x00\x01\x02\x03", data[-1:] == b"\xff")
    f.seek(-16, os.SEEK_END)
    print(f.tell(), bytearray(f.read(4)) == bytearray([240, 241, 242, 243]))
    f.seek(100)
    print(bytearray(f.read(1))[0])

with open("/data/hello.txt") as f:
    print([line.rstrip("\n") for line in f])
print(len(open("/data/empty.txt").read()))

st = os.stat("/data/hello.txt")
print(st.st_size, stat.S_ISREG(st.st_mode), stat.S_ISDIR(os.stat("/data/sub").st_mode))
print(os.path.getsize("/data/numbers.bin"), os.path.isfile("/data/sub/nested.txt"))
print(sorted(os.listdir("/data")))
for top, dirs, files in os.walk("/data"):
    dirs.sort()
    print(top, sorted(dirs), sorted(files))
print(os.access("/data/hello.txt", os.R_OK), os.access("/data/hello.txt", os.W_OK))
print(os.access("/data/missing", os.F_OK), os.path.exists("/data/sub/deeper/leaf.txt"))
print(open("/data/sub/deeper/leaf.txt").read().strip())
os.chdir("/data/sub")
print(os.getcwd(), open("nested.txt").read().strip(), os.path.abspath("deeper"))
