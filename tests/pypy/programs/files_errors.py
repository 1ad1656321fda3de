# What a sandboxed program sees of files that are not there, or that it may
# not touch: the errno Linux would give.
from __future__ import print_function
import errno
import os


def attempt(what, f):
    try:
        f()
        print(what, "ok")
    except (IOError, OSError) as e:
        print(what, errno.errorcode[e.errno])


attempt("open missing", lambda: open("/data/missing.txt"))
attempt("open dir", lambda: open("/data/sub"))
attempt("listdir file", lambda: os.listdir("/data/hello.txt"))
attempt("stat missing", lambda: os.stat("/nowhere/at/all"))
attempt("write to mount", lambda: open("/data/new.txt", "w"))
attempt("append to mount", lambda: open("/data/hello.txt", "a"))
attempt("remove from mount", lambda: os.remove("/data/hello.txt"))
attempt("mkdir in mount", lambda: os.mkdir("/data/newdir"))
attempt("rename in mount", lambda: os.rename("/data/hello.txt", "/data/x.txt"))
attempt("write to read-only /tmp", lambda: open("/tmp/out.txt", "w"))
attempt("read /etc/passwd", lambda: open("/etc/passwd"))
attempt("read /proc/self/environ", lambda: open("/proc/self/environ"))
print(open("/data/hello.txt").readline().strip())
