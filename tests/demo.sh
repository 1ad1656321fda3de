#!/bin/sh
# make demo: what sandtrace does, on the bundled example guests (guest/examples):
# run a guest in a virtual world, record it, read the trace like strace output,
# then delete the real files and replay the run from the trace alone.
build=${1:-build}
st="$build/bin/sandtrace"
guests="$build/guests"
work=$(mktemp -d "${TMPDIR:-/tmp}/sandtrace-demo-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trace="$work/demo.sbt"
failed=0

step() {
    printf '\n$ %s\n' "$*" | sed "s|$work|\$DEMO|g"
    "$@"
    rc=$?
    [ "$rc" -ne 0 ] && { echo "(exit status $rc)"; failed=1; }
    return 0
}

# A small real directory that the guest will see, read-only, at /data.
mkdir -p "$work/data/notes"
printf 'Hello from a real file, seen through a virtual mount.\n' > "$work/data/greeting.txt"
printf 'sandtrace records every byte that crosses the sandbox.\n' > "$work/data/notes/readme.txt"
printf 'this file is hidden from the guest\n' > "$work/data/.secret"

echo "The guest is $guests/cat, a C program built with guest/: it has no I/O of its own."
echo "Every file it opens and every byte it prints is a request answered by sandtrace."

step "$st" run --mount /data="$work/data" -- "$guests/ls" /data
step "$st" record -o "$trace" --mount /data="$work/data" -- "$guests/cat" /data/greeting.txt /data/notes/readme.txt
step "$st" dump "$trace"
step "$st" stats "$trace"
step "$st" verify "$trace"

echo
echo "Now the real directory is deleted: replay needs nothing but the trace."
rm -rf "$work/data"
step "$st" replay "$trace"
step "$st" replay --check "$trace"
[ "$failed" -eq 0 ] && printf '\ndemo: every step succeeded\n' || printf '\ndemo: a step failed (see above)\n'
exit "$failed"
