#!/usr/bin/env python3
"""A small sandbox-2 controller of our own, standing for PyPy's reference
controller in the tests: it starts the guest the way that controller does
(argv[0] = /bin/pypy, the caller's environment plus a UTF-8 locale) and
answers the protocol itself (../../../shared/PROTOCOL.md) from a virtual file
system of its own, so that `sandtrace tap` can be tested as what it is for:
the program a foreign controller launches instead of the guest.

The virtual tree: /bin/pypy and /lib/pypy (empty executables: the first is
the guest's argv[0], the second the home _pypy_init_home answers, next to
which PyPy finds its library), /lib/lib-python and /lib/lib_pypy (the real directories of --lib, read
only, without *.pyc/*.pyo), /tmp (the current directory, read only, with
the files given by --file NAME=TEXT). The guest's virtual environment is
empty; everything it writes is refused (EACCES/EPERM), which PyPy accepts.

usage: foreign_controller.py [--dump] [--file NAME=TEXT]... --lib DIR
           -- COMMAND...
COMMAND is what the controller launches in place of the guest: normally
`sandtrace tap -o T.sbt -- pypy-c-sandbox ARGS`, started with argv[0] =
/bin/pypy. With --dump the guest runs in dump mode (RPY_SANDBOX_DUMP=1) and
its function list is printed. Exits as the guest did.

Standard library only. The guest is not trusted: every length and path it
sends is bounded and resolved inside the virtual tree.
"""

import errno
import os
import posixpath
import signal
import stat
import struct
import subprocess
import sys
import time

ARGV0 = "/bin/pypy"
# What _pypy_init_home answers: PyPy looks for lib-python and lib_pypy next
# to it and in its parents.
HOME_EXE = "/lib/pypy"
CWD = "/tmp"
MAX_PATH = 4096
MAX_IO = 16 * 1024 * 1024

S_IFIFO_600 = stat.S_IFIFO | 0o600


class Node:
    """A virtual file or directory: real (a path on disk) or in memory."""

    def __init__(self, kind, real=None, data=b"", mode=0o644, children=None):
        self.kind = kind          # "file" or "dir"
        self.real = real          # a real path, or None
        self.data = data          # in-memory contents of a file
        self.mode = mode
        self.children = children  # name -> Node, for in-memory directories


class Vfs:
    def __init__(self, lib, files):
        tmp = {name: Node("file", data=text.encode("utf-8")) for name, text in files}
        self.root = Node("dir", mode=0o755, children={
            "bin": Node("dir", mode=0o755, children={
                "pypy": Node("file", data=b"", mode=0o755)}),
            "lib": Node("dir", mode=0o755, children={
                "pypy": Node("file", data=b"", mode=0o755),
                "lib-python": Node("dir", real=os.path.join(lib, "lib-python"), mode=0o755),
                "lib_pypy": Node("dir", real=os.path.join(lib, "lib_pypy"), mode=0o755)}),
            "tmp": Node("dir", mode=0o755, children=tmp),
        })
        self.inodes = {}

    @staticmethod
    def hidden(name):
        return name.endswith(".pyc") or name.endswith(".pyo")

    def lookup(self, path):
        """The Node at a guest path (relative to CWD), or None."""
        path = posixpath.normpath(posixpath.join(CWD, path))
        node = self.root
        for part in [p for p in path.split("/") if p]:
            if node.kind != "dir":
                return None
            if node.children is not None:
                node = node.children.get(part)
                if node is None:
                    return None
                continue
            if part in (".", "..") or self.hidden(part):
                return None
            real = os.path.join(node.real, part)
            # Stay inside the mounted directory, whatever its links say.
            top = os.path.realpath(node.real)
            if not os.path.realpath(real).startswith(top + os.sep):
                return None
            if os.path.isdir(real):
                node = Node("dir", real=real, mode=0o755)
            elif os.path.isfile(real):
                node = Node("file", real=real, mode=0o644)
            else:
                return None
        return node

    def listdir(self, node):
        if node.children is not None:
            return sorted(node.children.items())
        out = []
        for name in sorted(os.listdir(node.real)):
            if self.hidden(name):
                continue
            child = self.lookup_real(node, name)
            if child:
                out.append((name, child))
        return out

    @staticmethod
    def lookup_real(node, name):
        real = os.path.join(node.real, name)
        if os.path.isdir(real):
            return Node("dir", real=real, mode=0o755)
        if os.path.isfile(real):
            return Node("file", real=real, mode=0o644)
        return None

    def size(self, node):
        if node.kind == "dir":
            return 4096
        return os.path.getsize(node.real) if node.real else len(node.data)

    def contents(self, node):
        if node.real:
            with open(node.real, "rb") as f:
                return f.read()
        return node.data

    def ino(self, node):
        key = node.real or id(node)
        return self.inodes.setdefault(key, len(self.inodes) + 1)

    def stat_bytes(self, node):
        kind = stat.S_IFDIR if node.kind == "dir" else stat.S_IFREG
        size = self.size(node)
        st = bytearray(144)
        struct.pack_into("<QQQIIIxxxxQqqq", st, 0, 1, self.ino(node), 1, kind | node.mode,
                         1000, 1000, 0, size, 4096, (size + 511) // 512)
        return bytes(st)


def fifo_stat():
    st = bytearray(144)
    struct.pack_into("<QQQII", st, 0, 1, 0, 1, S_IFIFO_600, 1000)
    return bytes(st)


class ProtocolError(Exception):
    pass


class Controller:
    def __init__(self, proc, vfs):
        self.proc = proc
        self.vfs = vfs
        self.rd = proc.stdout
        self.wr = proc.stdin
        self.fds = {}      # fd -> [bytes, position]
        self.dirs = {}     # guest DIR* -> [entries, index]
        self.next_fd = 3
        self.calls = 0

    # --- the wire ---------------------------------------------------------

    def read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.rd.read(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def u64(self):
        return struct.unpack("<Q", self.read_exact(8))[0]

    def send(self, data):
        self.wr.write(data)

    def cmd_R(self, ptr, size):
        self.send(b"R" + struct.pack("<QQ", ptr, size))
        self.wr.flush()
        return self.read_exact(size)

    def cmd_Z(self, ptr, maxlen=MAX_PATH):
        self.send(b"Z" + struct.pack("<QQ", ptr, maxlen))
        self.wr.flush()
        n = self.u64()
        if n > maxlen:
            raise ProtocolError("Z reply of %d bytes for at most %d" % (n, maxlen))
        return self.read_exact(n)

    def cmd_W(self, ptr, data):
        self.send(b"W" + struct.pack("<QQ", ptr, len(data)) + data)

    def cmd_M(self, data):
        self.send(b"M" + struct.pack("<Q", len(data)) + data)
        self.wr.flush()
        return self.u64()

    def cmd_F(self, ptr):
        self.send(b"F" + struct.pack("<Q", ptr))

    def result(self, kind, value=0):
        if kind == "v":
            self.send(b"v")
        elif kind == "f":
            self.send(b"f" + struct.pack("<d", value))
        else:
            self.send(kind.encode() + struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF))
        self.wr.flush()

    def fail(self, kind, err):
        self.send(b"E" + struct.pack("<i", err))
        self.result(kind, -1 if kind == "i" else 0)

    # --- requests ---------------------------------------------------------

    def path(self, ptr):
        return self.cmd_Z(ptr).decode("utf-8", "surrogateescape")

    def serve(self):
        while True:
            head = self.rd.read(1)
            if not head:
                return
            n = head[0]
            if n == 0:
                raise ProtocolError("zero-length request")
            text = self.read_exact(n).decode("ascii", "replace")
            if "(" not in text or not text.endswith(")" + text[-1]):
                raise ProtocolError("bad request text %r" % text)
            name, rest = text.split("(", 1)
            kinds, res = rest[:-2], rest[-1]
            if len(kinds) > 32 or any(k not in "ifpv" for k in kinds + res):
                raise ProtocolError("bad request text %r" % text)
            args = [self.u64() for _ in kinds]
            self.calls += 1
            handler = getattr(self, "do_" + name, None)
            if handler is None:
                self.fail(res, errno.ENOSYS)
            else:
                handler(res, *args)

    def do_getenv(self, res, ptr):
        self.result(res, 0)

    def do_get_environ(self, res):
        self.result(res, self.cmd_M(b"\0" * 8))

    def do__pypy_init_home(self, res):
        self.result(res, self.cmd_M(HOME_EXE.encode() + b"\0"))

    def do__pypy_init_free(self, res, ptr):
        self.cmd_F(ptr)
        self.result(res)

    def do_gettimeofday(self, res, tv, tz):
        now = time.time()
        if tv:
            self.cmd_W(tv, struct.pack("<qq", int(now), int(now % 1 * 1e6)))
        self.result(res, 0)

    def do_clock_gettime(self, res, clk, ts):
        now = time.time()
        self.cmd_W(ts, struct.pack("<qq", int(now), int(now % 1 * 1e9)))
        self.result(res, 0)

    def do_time(self, res, ptr):
        now = int(time.time())
        if ptr:
            self.cmd_W(ptr, struct.pack("<q", now))
        self.result(res, now)

    def do_isatty(self, res, fd):
        self.fail(res, errno.ENOTTY if fd in (0, 1, 2) or fd in self.fds else errno.EBADF)

    def do_rpy_get_inheritable(self, res, fd):
        self.result(res, 0)

    def do_stat64(self, res, pptr, sptr):
        node = self.vfs.lookup(self.path(pptr))
        if node is None:
            return self.fail(res, errno.ENOENT)
        self.cmd_W(sptr, self.vfs.stat_bytes(node))
        self.result(res, 0)

    do_lstat64 = do_stat64

    def do_fstat64(self, res, fd, sptr):
        if fd in (0, 1, 2):
            self.cmd_W(sptr, fifo_stat())
        elif fd in self.fds:
            self.cmd_W(sptr, self.fds[fd][2])
        else:
            return self.fail(res, errno.EBADF)
        self.result(res, 0)

    def do_access(self, res, pptr, mode):
        node = self.vfs.lookup(self.path(pptr))
        if node is None:
            return self.fail(res, errno.ENOENT)
        if mode & os.W_OK:
            return self.fail(res, errno.EACCES)
        self.result(res, 0)

    def do_open(self, res, pptr, flags, mode):
        node = self.vfs.lookup(self.path(pptr))
        if flags & 3 != os.O_RDONLY or flags & os.O_CREAT:
            return self.fail(res, errno.EACCES if node or flags & os.O_CREAT else errno.ENOENT)
        if node is None:
            return self.fail(res, errno.ENOENT)
        fd = self.next_fd
        self.next_fd += 1
        data = self.vfs.contents(node) if node.kind == "file" else None
        self.fds[fd] = [data, 0, self.vfs.stat_bytes(node)]
        self.result(res, fd)

    def do_close(self, res, fd):
        if self.fds.pop(fd, None) is None and fd not in (0, 1, 2):
            return self.fail(res, errno.EBADF)
        self.result(res, 0)

    def do_read(self, res, fd, buf, size):
        if fd == 0:
            return self.result(res, 0)
        f = self.fds.get(fd)
        if f is None:
            return self.fail(res, errno.EBADF)
        if f[0] is None:
            return self.fail(res, errno.EISDIR)
        chunk = f[0][f[1]:f[1] + min(size, MAX_IO)]
        f[1] += len(chunk)
        if chunk:
            self.cmd_W(buf, chunk)
        self.result(res, len(chunk))

    def do_lseek(self, res, fd, offset, whence):
        f = self.fds.get(fd)
        if f is None or f[0] is None:
            return self.fail(res, errno.EBADF if f is None else errno.EINVAL)
        offset = struct.unpack("<q", struct.pack("<Q", offset))[0]
        base = {0: 0, 1: f[1], 2: len(f[0])}.get(whence)
        if base is None or base + offset < 0:
            return self.fail(res, errno.EINVAL)
        f[1] = base + offset
        self.result(res, f[1])

    def do_write(self, res, fd, buf, size):
        if fd not in (1, 2):
            return self.fail(res, errno.EBADF)
        size = min(size, MAX_IO)
        data = self.cmd_R(buf, size)
        out = sys.stdout.buffer if fd == 1 else sys.stderr.buffer
        out.write(data)
        out.flush()
        self.result(res, size)

    def do_opendir(self, res, pptr):
        node = self.vfs.lookup(self.path(pptr))
        if node is None:
            return self.fail(res, errno.ENOENT)
        if node.kind != "dir":
            return self.fail(res, errno.ENOTDIR)
        ptr = self.cmd_M(b"\0" * 280)
        self.dirs[ptr] = [self.vfs.listdir(node), 0]
        self.result(res, ptr)

    def do_readdir(self, res, ptr):
        d = self.dirs.get(ptr)
        if d is None:
            return self.fail(res, errno.EBADF)
        if d[1] >= len(d[0]):
            return self.result(res, 0)
        name, node = d[0][d[1]]
        d[1] += 1
        ent = bytearray(280)
        raw = name.encode("utf-8", "surrogateescape")[:255]
        struct.pack_into("<QQHB", ent, 0, self.vfs.ino(node), d[1], 280,
                         4 if node.kind == "dir" else 8)
        ent[19:19 + len(raw)] = raw
        self.cmd_W(ptr, bytes(ent))
        self.result(res, ptr)

    def do_closedir(self, res, ptr):
        if self.dirs.pop(ptr, None) is None:
            return self.fail(res, errno.EBADF)
        self.cmd_F(ptr)
        self.result(res, 0)

    def do_getcwd(self, res, buf, size):
        data = CWD.encode() + b"\0"
        if size < len(data):
            return self.fail(res, errno.ERANGE)
        self.cmd_W(buf, data)
        self.result(res, buf)

    def do_mkdir(self, res, pptr, mode):
        self.path(pptr)
        self.fail(res, errno.EPERM)

    def do_unlink(self, res, pptr):
        self.path(pptr)
        self.fail(res, errno.EPERM)

    def do__exit(self, res, code):
        # The guest wants to end: the reference controller terminates it.
        # A signal (tap forwards it) rather than a closed pipe, so that
        # tap still ends its trace cleanly.
        self.exit_code = code
        self.proc.send_signal(signal.SIGTERM)


def main(argv):
    dump = False
    files = []
    lib = None
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--dump":
            dump = True
        elif argv[i] == "--file" and i + 1 < len(argv):
            name, _, text = argv[i + 1].partition("=")
            files.append((name, text))
            i += 1
        elif argv[i] == "--lib" and i + 1 < len(argv):
            lib = argv[i + 1]
            i += 1
        else:
            sys.stderr.write("foreign_controller: bad argument %r\n" % argv[i])
            return 2
        i += 1
    command = argv[i + 1:]
    if not command or (lib is None and not dump):
        sys.stderr.write(__doc__)
        return 2
    env = dict(os.environ)
    env.setdefault("LANG", "C.UTF-8")
    if dump:
        env["RPY_SANDBOX_DUMP"] = "1"
    # As the reference controller: argv[0] is the virtual executable.
    proc = subprocess.Popen([ARGV0] + command[1:], executable=command[0], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    if dump:
        sys.stdout.buffer.write(proc.stdout.read(1 << 20))
        sys.stdout.flush()
        proc.stdin.close()
        return proc.wait()
    ctl = Controller(proc, Vfs(lib, files))
    ctl.exit_code = None
    try:
        ctl.serve()
    except (EOFError, BrokenPipeError):
        pass
    except ProtocolError as e:
        sys.stderr.write("foreign_controller: %s\n" % e)
        proc.kill()
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    status = proc.wait()
    if ctl.exit_code is not None:
        return ctl.exit_code
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
