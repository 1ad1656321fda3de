#!/bin/sh
# shard.sh: regression replay and audit indexing of a trace corpus split into
# N shards, the way a Kubernetes Indexed Job or a GitHub Actions matrix runs
# N copies of one command. sandtrace stays one process per sandbox; the
# scheduler you already run does the spreading. (docs/replay-corpus.md)
#
#   shard.sh run N K TRACE_DIR OUTDIR    shard K (0..N-1): what each machine runs
#   shard.sh merge OUTDIR                where the shards' results meet
#   shard.sh local N TRACE_DIR OUTDIR    every shard here, one after another, then merge
#
# Shard K takes every Nth trace of TRACE_DIR/*.sbt in name order, starting at
# the Kth, replays them (`sandtrace replay --check -j JOBS`) into
# OUTDIR/shard-K/junit.xml and OUTDIR/shard-K/reports/, and indexes them into
# OUTDIR/shard-K/audit.db. `merge` combines the shard databases into
# OUTDIR/audit.db (`sandtrace index --merge`) and lists the shards' JUnit
# files (CI systems read several). Exit status: that of the replays (0: every
# trace identical, 65: one diverged...), or the indexer's when it fails.
#
# Environment: SANDTRACE (default: sandtrace on PATH), JOBS (replays and
# decoders at once; default: the number of CPUs), EXE (replay against this
# executable instead of the recorded one).
#
# In a GitHub Actions matrix:
#   strategy: { matrix: { shard: [0, 1, 2, 3] } }
#   steps:
#     - run: docs/examples/shard.sh run 4 ${{ matrix.shard }} traces out
#     - uses: actions/upload-artifact@v4
#       with: { name: shard-${{ matrix.shard }}, path: out }
# then a job that downloads every artifact into out/ and runs `shard.sh merge out`.
# In a Kubernetes Indexed Job (completions: 4, completionMode: Indexed):
#   command: ["shard.sh", "run", "4", "$(JOB_COMPLETION_INDEX)", "/traces", "/results"]
set -u
SANDTRACE=${SANDTRACE:-sandtrace}
JOBS=${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}

usage() {
    sed -n '5,7p' "$0" >&2
    exit 2
}

# The list of shard K of N, one path per line.
shard_list() {
    n=$1 k=$2 dir=$3
    ls "$dir" | grep '\.sbt$' | LC_ALL=C sort | awk -v n="$n" -v k="$k" -v d="$dir" \
        '(NR - 1) % n == k { print d "/" $0 }'
}

run_shard() {
    n=$1 k=$2 dir=$3 out=$4
    case $n$k in *[!0-9]*) usage ;; esac
    [ "$k" -lt "$n" ] || usage
    sd="$out/shard-$k"
    mkdir -p "$sd" || exit 2
    shard_list "$n" "$k" "$dir" > "$sd/list.txt"
    # The trace paths as arguments (names with spaces survive; no eval).
    set --
    while IFS= read -r t; do set -- "$@" "$t"; done < "$sd/list.txt"
    if [ $# -eq 0 ]; then
        echo "shard.sh: shard $k of $n has no trace" >&2
        return 0
    fi
    if [ -n "${EXE:-}" ]; then
        "$SANDTRACE" replay --check -j "$JOBS" --exe "$EXE" --junit "$sd/junit.xml" \
            --reports "$sd/reports" "$@" > "$sd/replay.txt"
    else
        "$SANDTRACE" replay --check -j "$JOBS" --junit "$sd/junit.xml" \
            --reports "$sd/reports" "$@" > "$sd/replay.txt"
    fi
    replay_status=$?
    grep "^sandtrace replay: .* in .* s (-j" "$sd/replay.txt"
    # A damaged trace (5) is indexed up to its damage: not a failure here.
    "$SANDTRACE" index -j "$JOBS" -o "$sd/audit.db" "$@"
    index_status=$?
    if [ $index_status -ne 0 ] && [ $index_status -ne 5 ]; then
        return $index_status
    fi
    return $replay_status
}

merge() {
    out=$1
    set --
    for db in "$out"/shard-*/audit.db; do [ -f "$db" ] && set -- "$@" "$db"; done
    [ $# -gt 0 ] || { echo "shard.sh: no shard database in $out" >&2; return 1; }
    "$SANDTRACE" index --merge -o "$out/audit.db" "$@" || return $?
    for j in "$out"/shard-*/junit.xml; do [ -f "$j" ] && echo "junit: $j"; done
    return 0
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
run)
    [ $# -eq 4 ] || usage
    run_shard "$1" "$2" "$3" "$4"
    exit $?
    ;;
merge)
    [ $# -eq 1 ] || usage
    merge "$1"
    exit $?
    ;;
local)
    [ $# -eq 3 ] || usage
    worst=0
    k=0
    while [ "$k" -lt "$1" ]; do
        run_shard "$1" "$k" "$2" "$3"
        s=$?
        [ $s -ne 0 ] && [ $worst -eq 0 ] && worst=$s
        k=$((k + 1))
    done
    merge "$3" || exit $?
    exit $worst
    ;;
*)
    usage
    ;;
esac
