# The writable in-memory /tmp (--tmp-write): create, append, read back,
# rename, list, remove, directories, binary data.
from __future__ import print_function
import os
import shutil

print(os.getcwd(), os.listdir("/tmp"))
with open("/tmp/log.txt", "w") as f:
    f.write("one\n")
with open("/tmp/log.txt", "a") as f:
    f.write("two\n")
print(repr(open("/tmp/log.txt").read()), os.path.getsize("/tmp/log.txt"))
os.rename("/tmp/log.txt", "/tmp/renamed.txt")
print(os.path.exists("/tmp/log.txt"), os.path.exists("/tmp/renamed.txt"))
os.mkdir("/tmp/dir")
os.makedirs("/tmp/dir/a/b")
with open("/tmp/dir/a/b/data.bin", "wb") as f:
    f.write(bytes(bytearray(range(256))) * 4)
with open("/tmp/dir/a/b/data.bin", "r+b") as f:
    f.seek(1000)
    f.write(b"XY")
    f.seek(0, os.SEEK_END)
    print(f.tell())
data = open("/tmp/dir/a/b/data.bin", "rb").read()
print(len(data), data[998:1004] == b"\xe6\xe7XY\xea\xeb")
with open("relative.txt", "w") as f:
    f.write("written in the current directory\n")
print(open("/tmp/relative.txt").read().strip())
print(sorted(os.listdir("/tmp")))
for top, dirs, files in os.walk("/tmp"):
    dirs.sort()
    print(top, sorted(dirs), sorted(files))
shutil.copyfile("/tmp/renamed.txt", "/tmp/dir/copy.txt")
print(open("/tmp/dir/copy.txt").read() == open("/tmp/renamed.txt").read())
os.remove("/tmp/renamed.txt")
shutil.rmtree("/tmp/dir")
print(sorted(os.listdir("/tmp")))
