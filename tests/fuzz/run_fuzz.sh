#!/bin/sh
# make fuzz: builds every libFuzzer target tests/fuzz/fuzz_NAME.c with clang
# (-fsanitize=fuzzer,address,undefined) and runs each for FUZZ_SECONDS
# (default 60). Not part of `make test`.
#
# Usage: tests/fuzz/run_fuzz.sh BUILDDIR [NAME...]
#
# Adding a target: write tests/fuzz/fuzz_NAME.c defining
# LLVMFuzzerTestOneInput, with a line "fuzz-libs: COMPONENT..." naming the
# component libraries it needs (dependents first, e.g. "replayer controller
# format"); optionally tests/fuzz/seed_NAME.c, a program run as
# `seed_NAME DIR` that writes a seed corpus into DIR. Seed programs may
# record real sessions (tests/fuzz/seed_sessions.h): they find the normal
# build's sandtrace in $SANDTRACE, the example guests in $ST_GUEST_DIR and
# the hostile guest in $ST_HOSTILE (the normal build, FUZZ_MAIN_BUILD,
# default the parent of BUILDDIR, is made first). Crashes land in
# BUILDDIR/artifacts/. Exit status: 0 when no target found a problem.
set -u
build=${1:?usage: run_fuzz.sh BUILDDIR [NAME...]}
shift
seconds=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here" || exit 1

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz: '$cc' not found: libFuzzer targets need clang (apt-get install clang)"
    exit 1
fi
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}\n' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
    echo "fuzz: '$cc' cannot build libFuzzer targets (install libclang-rt-dev):"
    cat "$probe/err"
    rm -rf "$probe"
    exit 1
fi
rm -rf "$probe"

if [ $# -gt 0 ]; then
    targets=$*
else
    targets=$(for f in tests/fuzz/fuzz_*.c; do [ -f "$f" ] && basename "$f" .c | sed 's/^fuzz_//'; done)
fi
[ -n "$targets" ] || { echo "fuzz: no targets"; exit 0; }

# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION: the libraries skip checksum
# checks, so that mutated inputs reach the decoders behind them.
# The normal build, for seed programs that record real sessions.
main_build=${FUZZ_MAIN_BUILD:-$(dirname "$build")}
if make -s -j2 BUILD="$main_build" all >/dev/null 2>&1; then
    SANDTRACE=$(cd "$main_build" && pwd)/bin/sandtrace
    ST_GUEST_DIR=$(cd "$main_build" && pwd)/guests
    ST_HOSTILE=$(cd "$main_build" && pwd)/hostile/hostile
    export SANDTRACE ST_GUEST_DIR ST_HOSTILE
else
    echo "fuzz: cannot build '$main_build' (make all): seeds from recorded sessions skipped"
fi

instr="-fsanitize=fuzzer-no-link -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
pkgs="libzstd libprotobuf-c libseccomp libxxhash libsodium"
mkdir -p "$build/artifacts"
failed=""
for t in $targets; do
    src=tests/fuzz/fuzz_$t.c
    [ -f "$src" ] || { echo "fuzz: no such target '$t' ($src)"; failed="$failed $t"; continue; }
    comps=$(sed -n 's/.*fuzz-libs:[[:space:]]*\([a-z ]*\).*/\1/p' "$src" | head -1)
    libs=""
    for c in $comps; do libs="$libs $build/lib/libsandtrace_$c.a"; done
    echo "fuzz: building $t (libraries:${libs:- none})"
    # The component libraries, instrumented, through the project's Makefile.
    if [ -n "$libs" ] && ! make -s -j2 BUILD="$build" CC="$cc" SAN=1 CFLAGS="$instr" $libs; then
        echo "fuzz: cannot build the libraries of $t"; failed="$failed $t"; continue
    fi
    inc="-D_GNU_SOURCE -I. -I$build/gen -DSANDTRACE_VERSION=\"fuzz\""
    # shellcheck disable=SC2086
    if ! "$cc" -std=c11 -g -O1 $inc -fsanitize=fuzzer $san "$src" $libs \
            $(pkg-config --libs $pkgs) -o "$build/fuzz_$t"; then
        echo "fuzz: cannot build $t"; failed="$failed $t"; continue
    fi
    corpus=$build/corpus/$t
    mkdir -p "$corpus"
    seeds=""
    if [ -f "tests/fuzz/seed_$t.c" ]; then
        seeds=$build/seeds/$t
        mkdir -p "$seeds"
        # shellcheck disable=SC2086
        if ! "$cc" -std=c11 -g $inc $san "tests/fuzz/seed_$t.c" $libs \
                $(pkg-config --libs $pkgs) -o "$build/seed_$t" || ! "$build/seed_$t" "$seeds"; then
            echo "fuzz: cannot make the seed corpus of $t"; failed="$failed $t"; continue
        fi
    fi
    echo "fuzz: running $t for ${seconds}s"
    if ! "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
            "$corpus" ${seeds:+"$seeds"} 2>"$build/fuzz_$t.log"; then
        tail -40 "$build/fuzz_$t.log"
        echo "fuzz: $t FOUND A PROBLEM (log: $build/fuzz_$t.log, inputs: $build/artifacts/)"
        failed="$failed $t"
        continue
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' "$build/fuzz_$t.log" | sed "s/^/fuzz: $t: /"
    echo "fuzz: $t ok"
done
if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed"
    exit 1
fi
echo "fuzz: all targets ok"
