#!/usr/bin/env python3
"""A sandtrace handler process: asks before the guest writes to /tmp.

    sandtrace run --tmp-write --handler-timeout 300 \\
        --handler 'open,openat,mkdir,unlink,rename,rmdir=python3 approve_writes.py' \\
        --lib-path ... -- pypy-c-sandbox script.py

For every call sandtrace sends (one JSON line on stdin, docs/handlers.md),
a call that would create, change or remove something under /tmp is shown on
the terminal (/dev/tty) with a question; "y" lets the built-in handler do
it ({"default": true}), anything else refuses it with EACCES. Every other
call, reads included, gets the built-in answer without a question. Each
decision goes into the trace as a note, so the recording says who allowed
what. Without a terminal it refuses (fails closed).

    --yes / --no   answer every question so, without a terminal (for tests
                   and batch runs)
    --log FILE     append one line per decision to FILE

Standard library only; schema version 1.
"""
import base64
import json
import sys

SCHEMA = 1
O_ACCMODE, O_CREAT, O_TRUNC, O_APPEND = 3, 0o100, 0o1000, 0o2000
WRITERS = {"mkdir", "mkdirat", "unlink", "unlinkat", "rmdir", "rename", "renameat"}


def under_tmp(path):
    return isinstance(path, str) and (path == "/tmp" or path.startswith("/tmp/"))


def describe_write(req):
    """The question to ask for this call, or None when it writes nothing in /tmp."""
    call, args, meanings = req["call"], req["args"], req["meanings"]
    paths = [a for a, m in zip(args, meanings) if m == "s"]
    if call in ("open", "openat"):
        flags = args[meanings.index("O")]
        if (flags & O_ACCMODE) == 0 and not flags & (O_CREAT | O_TRUNC | O_APPEND):
            return None
        what = "open for writing"
    elif call in WRITERS:
        what = call
    else:
        return None
    if not any(under_tmp(p) for p in paths):
        return None
    return "%s %s" % (what, " -> ".join(repr(p) for p in paths))


class Asker:
    def __init__(self, fixed):
        self.fixed = fixed
        self.tty = None
        if fixed is None:
            try:
                self.tty = open("/dev/tty", "r+")
            except OSError:
                self.tty = None

    def ask(self, question):
        if self.fixed is not None:
            return self.fixed
        if self.tty is None:
            return False
        self.tty.write("sandtrace: the guest wants to %s. Allow? [y/N] " % question)
        self.tty.flush()
        answer = self.tty.readline()
        return answer.strip().lower() in ("y", "yes")


def main(argv):
    fixed, log = None, None
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--yes":
            fixed = True
        elif a == "--no":
            fixed = False
        elif a == "--log" and args:
            log = open(args.pop(0), "a")
        else:
            sys.stderr.write("approve_writes.py: unknown option %r\n" % a)
            return 2
    asker = Asker(fixed)
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("schema") != SCHEMA:
            sys.stderr.write("approve_writes.py: schema %r, expected %d\n" % (req.get("schema"), SCHEMA))
            return 1
        question = describe_write(req)
        if question is None:
            answer = {"default": True}
        elif asker.ask(question):
            answer = {"default": True, "note": "approved: " + question}
        else:
            answer = {"errno": "EACCES", "note": "refused: " + question}
        if question is not None and log:
            log.write("%s\n" % answer["note"])
            log.flush()
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
