#!/usr/bin/env python2
"""Runs one sandbox-2 PyPy guest under the reference controller, PyPy's
sandboxlib, set up as bench/compare_sandboxlib.sh needs it: the same virtual
tree that `sandtrace run --lib-path LIB --mount /data=DATA` gives (/lib/pypy,
/lib/lib-python, /lib/lib_pypy, an empty /tmp as the current directory, and
DATA read-only at /data), argv[0] /lib/pypy, an empty environment.

This is our own driver (bench/compare_sandboxlib.sh); sandboxlib itself is not
part of this repository: it is imported from $SANDBOXLIB (the directory that
holds the sandboxlib package, its _commonstruct_cffi module built), with cffi
importable. sandboxlib is Python 2 code (implicit relative import, str-based
pipe I/O), so this runs under python2.

Usage:
  sandboxlib_driver.py [--count] [--result FILE] LIB DATA EXE [GUEST ARGS...]

The guest's stdout and stderr go through sandboxlib's MixDumpOutput to this
process's stdout (as its interact.py does, without colours). The result line
(JSON) goes to FILE, else to stderr:
  exit      the guest's exit status (negative: killed by that signal)
  wall      seconds from starting the guest to reaping it
  cpu_self  this process's user+sys CPU seconds in all (getrusage SELF:
            interpreter start, imports and the run; the guest is a child and
            is not in it)
  cpu_run   the part of cpu_self spent from starting the guest to reaping it
  cpu_guest the guest's user+sys CPU seconds (getrusage CHILDREN)
  requests  the number of requests answered, with --count only (counting
            wraps every read_message in one more Python call, so timed runs
            are made without it)
"""

import os
import sys
import time
import json
import resource
import subprocess


def usage():
    sys.stderr.write(__doc__)
    return 2


def cpu(who):
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def main(argv):
    count = False
    result_path = None
    while argv and argv[0].startswith('--'):
        opt = argv.pop(0)
        if opt == '--count':
            count = True
        elif opt == '--result' and argv:
            result_path = argv.pop(0)
        elif opt == '--':
            break
        else:
            return usage()
    if len(argv) < 3:
        return usage()
    lib, data, exe = argv[0], argv[1], argv[2]
    guest_args = argv[3:]

    sbl = os.environ.get('SANDBOXLIB')
    if not sbl:
        sys.stderr.write("sandboxlib_driver: SANDBOXLIB is not set\n")
        return 2
    sys.path.insert(0, sbl)
    from sandboxlib import VirtualizedProc
    from sandboxlib.mix_pypy import MixPyPy
    from sandboxlib.mix_vfs import MixVFS, Dir, RealDir
    from sandboxlib.mix_dump_output import MixDumpOutput
    from sandboxlib.mix_accept_input import MixAcceptInput

    class BenchProc(MixPyPy, MixVFS, MixDumpOutput, MixAcceptInput,
                    VirtualizedProc):
        virtual_cwd = "/tmp"
        vfs_root = Dir({
            'tmp': Dir({}),
            'lib': MixVFS.vfs_pypy_lib_directory(lib),
            'data': RealDir(data),
        })

    requests = [0]
    cpu0 = cpu(resource.RUSAGE_SELF)
    t0 = time.time()
    popen = subprocess.Popen(['/lib/pypy'] + guest_args, executable=exe,
                             env={}, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    vp = BenchProc(popen.stdin, popen.stdout)
    if count:
        read_message = vp.sandio.read_message

        def counted():
            msg = read_message()
            requests[0] += 1
            return msg
        vp.sandio.read_message = counted
    failure = None
    try:
        vp.run()
    except Exception as e:
        # sandboxlib ends a run it refuses by raising: the guest is killed,
        # as interact.py's exit would.
        failure = "%s: %s" % (type(e).__name__, e)
        popen.kill()
    status = popen.wait()
    t1 = time.time()
    cpu1 = cpu(resource.RUSAGE_SELF)
    sys.stdout.flush()

    res = {
        'exit': status,
        'wall': t1 - t0,
        'cpu_self': cpu1,
        'cpu_run': cpu1 - cpu0,
        'cpu_guest': cpu(resource.RUSAGE_CHILDREN),
    }
    if count:
        res['requests'] = requests[0]
    if failure:
        res['error'] = failure
    line = json.dumps(res, sort_keys=True) + "\n"
    if result_path:
        with open(result_path, 'w') as f:
            f.write(line)
    else:
        sys.stderr.write(line)
    return 0 if status == 0 and not failure else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
