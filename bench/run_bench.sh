#!/bin/sh
# make bench: runs sandtrace-bench, prints the table and writes
# bench/results.json (committed: the README's table comes from it) and
# BUILD_DIR/bench/results.md. BENCH_QUICK=1 scales everything down.
# Usage: bench/run_bench.sh BUILD_DIR
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
json="$here/results.json"
if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; then
    # A quick run is a smoke test: it does not replace the committed figures.
    json="$build/bench/results-quick.json"
fi
exec "$build/bench/sandtrace-bench" --build "$build" --json "$json" \
    --markdown "$build/bench/results.md"
