# What untrusted code tries to reach outside its world: processes, sockets,
# the real file system, native code (fork: see forbidden_fork.py). Each attempt is refused and the program
# goes on.
from __future__ import print_function
import errno
import os


def attempt(what, f):
    try:
        result = f()
        print(what, "->", result)
    except (IOError, OSError) as e:
        print(what, "->", type(e).__name__, errno.errorcode.get(e.errno, e.errno))
    except ImportError as e:
        print(what, "->", "ImportError")


root = os.listdir("/")
print("/ has lib, tmp, dev:", all(d in root for d in ("lib", "tmp", "dev")))
print("/ has etc, home, root, usr:", any(d in root for d in ("etc", "home", "root", "usr")))
attempt("listdir /dev", lambda: sorted(os.listdir("/dev")))
attempt("open /etc/shadow", lambda: open("/etc/shadow"))
attempt("open /proc/self/maps", lambda: open("/proc/self/maps"))
attempt("kill", lambda: os.kill(1, 9))
attempt("import socket", lambda: __import__("socket").socket().connect(("127.0.0.1", 22)))
attempt("import ctypes", lambda: __import__("ctypes").CDLL("libc.so.6"))
print("still running")
