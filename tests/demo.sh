#!/bin/sh
# make demo: run a bundled guest under sandtrace, record it, dump the trace,
# replay it. Steps whose subcommand is not built yet say so and the demo goes on.
build=${1:-build}
st="$build/bin/sandtrace"
guest="$build/guests/hello"
trace="$build/demo.sbt"
step() {
    printf '\n$ %s\n' "$*"
    "$@"
    rc=$?
    [ "$rc" -eq 3 ] && echo "(this step is not built yet)"
    return 0
}
if [ ! -x "$guest" ]; then
    echo "demo: the bundled guest '$guest' is not built yet (guest/ examples)"
    step "$st" help
    exit 0
fi
step "$st" run -- "$guest"
step "$st" record -o "$trace" -- "$guest"
step "$st" dump "$trace"
step "$st" replay "$trace"
exit 0
