# The virtual identity and environment: argv, environment (--env), uid, pid,
# cwd, uname, the platform.
from __future__ import print_function
import os
import sys

print(sys.argv)
print(sorted(os.environ.items()))
print(os.environ.get("GREETING"), os.getenv("MISSING", "default"))
print(os.getuid(), os.getgid(), os.geteuid(), os.getpid(), os.getppid())
print(os.getcwd(), sys.executable)
u = os.uname()
print(u[0], u[1], u[2], u[4])
print(sys.platform)
print(sys.version_info[0] in (2, 3), sys.maxsize == 2 ** 63 - 1, sys.byteorder)
