# Writing past the quota of --tmp-write fails as a full disk does (ENOSPC),
# and the program can recover from it.
from __future__ import print_function
import errno
import os

chunk = b"x" * 4096
written = 0
try:
    with open("/tmp/big.bin", "wb") as f:
        for _ in range(64):
            f.write(chunk)
            f.flush()
            written += len(chunk)
except (IOError, OSError) as e:
    print("failed:", errno.errorcode[e.errno])
print(written < 64 * 4096, written >= 8 * 4096)
os.remove("/tmp/big.bin")
with open("/tmp/small.txt", "w") as f:
    f.write("room again\n")
print(open("/tmp/small.txt").read().strip())
