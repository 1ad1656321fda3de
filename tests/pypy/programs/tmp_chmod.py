# On a writable /tmp the program owns its files: os.chmod works, and so does
# shutil.copy (which copies the mode with chmod).
from __future__ import print_function
import os
import shutil
import stat

with open("/tmp/a.txt", "w") as f:
    f.write("data\n")
os.chmod("/tmp/a.txt", 0o600)
print(oct(stat.S_IMODE(os.stat("/tmp/a.txt").st_mode)))
shutil.copy("/tmp/a.txt", "/tmp/b.txt")
print(open("/tmp/b.txt").read().strip(), oct(stat.S_IMODE(os.stat("/tmp/b.txt").st_mode)))
