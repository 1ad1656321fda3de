#!/usr/bin/env bash
# Side-by-side wall and controller CPU of sandtrace and the reference
# controller, PyPy's sandboxlib, on bench's four real-PyPy workloads (the
# `workloads` table of bench/bench_pypy.c: stat, write, read, time), for
# issue #15's "sandtrace <= 0.5 x the reference controller's wall". Measured
# by hand, not in CI: sandboxlib is not part of this repository, nor fetched
# by it.
#
# Usage: bench/compare_sandboxlib.sh
#
# Environment:
#   SANDBOXLIB       (required) the directory holding the `sandboxlib` package
#                    (PyPy's sandboxlib, hg), its cffi module
#                    sandboxlib/_commonstruct_cffi built in place
#                    (`python2 sandboxlib/_commonstruct_build.py` there)
#   SANDBOXLIB_PYTHON  the Python that runs it (default python2: sandboxlib is
#                    Python 2 code); cffi must be importable by it (PYTHONPATH
#                    is passed through)
#   PYPY_SANDBOX, PYPY3_SANDBOX  the pypy2 / pypy3 sandbox-2 executables
#                    (default BUILD/pypy/pypy2-sandbox/bin/pypy-c-sandbox and
#                    BUILD/pypy/pypy3-sandbox/bin/pypy3-c-sandbox, as `make
#                    pypy-fixtures` unpacks them); the library tree is the
#                    directory above bin/, as for bench
#   BUILD            the build directory (default build)
#   SANDTRACE        the sandtrace binary (default BUILD/bin/sandtrace)
#   BUILDS           which builds, among "pypy2 pypy3" (default both)
#   REPS             runs per controller and workload (default 3; median)
#   QUICK=1          a tenth of each workload's iterations (a smoke test)
#   OUT              where the per-run figures (runs.tsv) and the controllers'
#                    stderr (log) go (default a new directory under /tmp)
#
# Each workload runs under both controllers in turn, sandboxlib first:
# sandboxlib, sandtrace, sandboxlib, sandtrace, ... (REPS of each). Wall is
# measured here around the whole controller command (start-up included, for
# both). Controller CPU: for sandtrace, its --outcome file's
# controller_user_seconds + controller_sys_seconds; for sandboxlib, the Python
# driver's own user+sys CPU (getrusage RUSAGE_SELF at its end: interpreter
# start, imports and the run; the guest is its child and not in it).
# Walls are medians; "best walls" is the ratio of the two controllers' fastest
# runs, and "paired runs" the median of the ratios of each sandtrace run to
# the sandboxlib run just before it (both less sensitive to a machine whose
# load changes during the runs). The table also gives sandboxlib's
# CPU from starting the guest to reaping it only ("run only": without the
# interpreter's start and imports).
# Requests: sandtrace's outcome "calls"; for sandboxlib, one more untimed run
# per workload that counts them (bench/sandboxlib_driver.py --count). The
# counts differ a little (the controllers answer start-up differently), and
# for pypy3's time.time() twice over: sandboxlib answers clock_gettime with
# ENOSYS, so each call falls back to gettimeofday, two requests instead of one.
# The guest's output (fd 1 and 2) goes to /dev/null for both.
#
# Setting sandboxlib up: it is Python 2 code that needs cffi (and pycparser)
# importable by that Python, then its cffi module built in place:
#   cd $SANDBOXLIB && python2 sandboxlib/_commonstruct_build.py
# The driver sets it up as sandboxlib's interact.py does with --lib-path
# (MixPyPy, MixVFS, MixDumpOutput, MixAcceptInput over VirtualizedProc), plus
# the data directory at /data.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD:-$root/build}
sandtrace=${SANDTRACE:-$build/bin/sandtrace}
py=${SANDBOXLIB_PYTHON:-python2}
reps=${REPS:-3}
builds=${BUILDS:-pypy2 pypy3}
quick=${QUICK:-0}

die() {
    echo "compare_sandboxlib: $*" >&2
    exit 2
}

if [ -z "${SANDBOXLIB:-}" ]; then
    die "SANDBOXLIB is not set: point it at a directory holding PyPy's sandboxlib package (sandboxlib/virtualizedproc.py), with sandboxlib/_commonstruct_cffi built; this script does not fetch it"
fi
if [ ! -f "$SANDBOXLIB/sandboxlib/virtualizedproc.py" ]; then
    die "SANDBOXLIB=$SANDBOXLIB holds no sandboxlib package (no $SANDBOXLIB/sandboxlib/virtualizedproc.py)"
fi
command -v "$py" >/dev/null 2>&1 || die "no $py to run sandboxlib (set SANDBOXLIB_PYTHON)"
if ! err=$("$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); import sandboxlib, sandboxlib.mix_vfs, sandboxlib.mix_pypy, sandboxlib.mix_dump_output, sandboxlib.mix_accept_input' "$SANDBOXLIB" 2>&1); then
    die "$py cannot import sandboxlib from $SANDBOXLIB (is cffi importable, and sandboxlib/_commonstruct_cffi built?):
$err"
fi
[ -x "$sandtrace" ] || die "no sandtrace at $sandtrace (make, or set SANDTRACE)"
case $reps in ''|*[!0-9]*|0) die "REPS must be a positive integer" ;; esac

out=${OUT:-$(mktemp -d /tmp/compare-sandboxlib.XXXXXX)}
mkdir -p "$out/data"
head -c 4096 /dev/zero | tr '\0' 'x' >"$out/data/f4k"
log=$out/log
runs=$out/runs.tsv
: >"$log"
printf 'build\tworkload\tcontroller\trep\twall\tctrl_cpu\trequests\texit\tctrl_cpu_run\tguest_cpu\n' >"$runs"

# name|import|body|iterations (bench/bench_pypy.c's workloads)
workloads=(
    "stat|import os|os.path.exists('/data/f4k')|20000"
    "write|import os|os.write(1, b'x\\n')|20000"
    "read|import os|f = open('/data/f4k', 'rb'); f.read(); f.close()|2000"
    "time|import time|time.time()|20000"
)

now() { date +%s.%N; }

# json_field FILE KEY...: the sum of the numeric fields KEY... of a one-object
# JSON file, or nothing.
json_sum() {
    "$py" - "$@" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print(repr(sum(float(d[k]) for k in sys.argv[2:])))
except Exception:
    pass
EOF
}

found=0
for b in $builds; do
    case $b in
        pypy2) var=PYPY_SANDBOX; exe=${PYPY_SANDBOX-$build/pypy/pypy2-sandbox/bin/pypy-c-sandbox} ;;
        pypy3) var=PYPY3_SANDBOX; exe=${PYPY3_SANDBOX-$build/pypy/pypy3-sandbox/bin/pypy3-c-sandbox} ;;
        *) die "unknown build $b (BUILDS takes pypy2, pypy3)" ;;
    esac
    if [ -z "$exe" ] || [ ! -x "$exe" ]; then
        echo "compare_sandboxlib: skipping $b: no executable ${exe:-(\$$var set empty)} (make pypy-fixtures, or set $var)" >&2
        continue
    fi
    lib=$(dirname "$(dirname "$exe")")
    found=1
    for w in "${workloads[@]}"; do
        IFS='|' read -r name imp body n <<<"$w"
        [ "$quick" != 0 ] && n=$((n / 10))
        script=$(printf '%s\nfor i in range(%d): %s\n' "$imp" "$n" "$body")
        echo "compare_sandboxlib: $b $name x$n" >&2

        # The untimed count of sandboxlib's requests.
        res=$out/sbl.json
        rm -f "$res"
        if ! "$py" "$here/sandboxlib_driver.py" --count --result "$res" \
                "$lib" "$out/data" "$exe" -S -c "$script" >/dev/null 2>>"$log"; then
            echo "compare_sandboxlib: sandboxlib failed on $b $name: $(cat "$res" 2>/dev/null) (stderr in $log)" >&2
            continue
        fi
        sbl_requests=$(json_sum "$res" requests)
        sbl_requests=${sbl_requests%.0}

        for rep in $(seq 1 "$reps"); do
            rm -f "$res"
            t0=$(now)
            set +e
            "$py" "$here/sandboxlib_driver.py" --result "$res" \
                "$lib" "$out/data" "$exe" -S -c "$script" >/dev/null 2>>"$log"
            rc=$?
            set -e
            t1=$(now)
            printf '%s\t%s\tsandboxlib\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b" "$name" "$rep" \
                "$(echo "$t1 - $t0" | bc -l)" "$(json_sum "$res" cpu_self)" "$sbl_requests" "$rc" \
                "$(json_sum "$res" cpu_run)" "$(json_sum "$res" cpu_guest)" >>"$runs"

            oc=$out/outcome.json
            rm -f "$oc"
            t0=$(now)
            set +e
            "$sandtrace" run --quiet --outcome "$oc" --mount "/data=$out/data" --lib-path "$lib" \
                -- "$exe" -S -c "$script" >/dev/null 2>>"$log"
            rc=$?
            set -e
            t1=$(now)
            printf '%s\t%s\tsandtrace\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b" "$name" "$rep" \
                "$(echo "$t1 - $t0" | bc -l)" \
                "$(json_sum "$oc" controller_user_seconds controller_sys_seconds)" \
                "$(json_sum "$oc" calls | sed 's/\.0$//')" "$rc" \
                "$(json_sum "$oc" controller_user_seconds controller_sys_seconds)" \
                "$(json_sum "$oc" guest_user_seconds guest_sys_seconds)" >>"$runs"
        done
    done
done
[ "$found" = 1 ] || die "no PyPy sandbox build found (make pypy-fixtures, or set PYPY_SANDBOX / PYPY3_SANDBOX)"

# The table: medians over the runs that exited 0.
"$py" - "$runs" "$reps" <<'EOF'
import sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])][1:]
reps = int(sys.argv[2])

def median(xs):
    xs = sorted(xs)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2.0

def num(s):
    try:
        return float(s)
    except ValueError:
        return None

order = []
figs = {}
for r in rows:
    build, wl, ctl, rep, wall, cpu, req, rc, cpu_run = r[:9]
    key = (build, wl)
    if key not in figs:
        order.append(key)
        figs[key] = {'sandboxlib': [], 'sandtrace': [], 'failed': [], 'pairs': {}}
    if rc != '0' or num(wall) is None:
        figs[key]['failed'].append(ctl)
        continue
    figs[key][ctl].append((num(wall), num(cpu), num(req), num(cpu_run)))
    figs[key]['pairs'].setdefault(rep, {})[ctl] = num(wall)

def fmt_ms(x):
    return '-' if x is None else '%.0f ms' % (x * 1000)

def fmt_us(x):
    return '-' if x is None else '%.1f us' % (x * 1e6)

print('| build | workload | requests (sandboxlib / sandtrace) | sandboxlib wall | sandtrace wall '
      '| sandtrace / sandboxlib | same, best walls | same, paired runs | sandboxlib CPU / request '
      '| sandboxlib CPU / request, run only | sandtrace CPU / request |')
print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for key in order:
    f = figs[key]
    cols = {}
    for ctl in ('sandboxlib', 'sandtrace'):
        runs = f[ctl]
        wall = median([r[0] for r in runs])
        cpu = median([r[1] for r in runs if r[1] is not None])
        req = median([r[2] for r in runs if r[2] is not None])
        cpu_run = median([r[3] for r in runs if r[3] is not None])
        per = cpu / req if cpu is not None and req else None
        per_run = cpu_run / req if cpu_run is not None and req else None
        best = min([r[0] for r in runs]) if runs else None
        cols[ctl] = (wall, per, req, per_run, best)
    a, b = cols['sandboxlib'], cols['sandtrace']
    ratio = '%.3f' % (b[0] / a[0]) if a[0] and b[0] else '-'
    best = '%.3f' % (b[4] / a[4]) if a[4] and b[4] else '-'
    paired = median([p['sandtrace'] / p['sandboxlib'] for p in f['pairs'].values()
                     if p.get('sandboxlib') and p.get('sandtrace')])
    paired = '-' if paired is None else '%.3f' % paired
    req = '%s / %s' % tuple('-' if c[2] is None else '%d' % c[2] for c in (a, b))
    note = ''
    if f['failed']:
        note = ' (failed runs: %s)' % ', '.join(f['failed'])
    n = min(len(f['sandboxlib']), len(f['sandtrace']))
    if n < reps:
        note += ' (median of %d)' % n
    print('| %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
        key[0], key[1], note, req, fmt_ms(a[0]), fmt_ms(b[0]), ratio, best, paired,
        fmt_us(a[1]), fmt_us(a[3]), fmt_us(b[1])))
EOF
echo "per-run figures: $runs; the controllers' stderr: $log" >&2
