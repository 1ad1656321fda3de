#!/bin/sh
# Records the example guests into tests/golden/rec-NAME.sbt with fixed
# options (no ASLR, frozen time, the small world in tests/golden/world), for
# the golden tests of dump/stats/export. Once committed, a trace's times are
# fixed, so its outputs are deterministic; regenerate the expected outputs
# afterwards with SANDTRACE_UPDATE_GOLDEN=1 build/tests/tools/test_golden.
# Usage: tests/golden/record.sh [BUILD_DIR [OUT_DIR]]
# (test_golden runs it into a temporary OUT_DIR and checks with `sandtrace
# diff` that a new recording is equivalent to the committed one.)
set -e
build=$(cd "${1:-build}" && pwd)
out=$(mkdir -p "${2:-tests/golden}" && cd "${2:-tests/golden}" && pwd)
cd "$(dirname "$0")/../.."
st="$build/bin/sandtrace"
g="$build/guests"
w=tests/golden/world
rec() {
    name=$1; shift
    "$st" record -o "$out/rec-$name.sbt" --no-aslr --quiet "$@" >/dev/null 2>&1 || true
}
rec hello "$g/hello"
rec cat --file /etc/motd="$w/motd" "$g/cat" /etc/motd /nonexistent
# The library is given file by file, not as a mounted directory: inode
# numbers then follow the command line, not the host's readdir order.
lib="--file /lib/os.py=$w/lib/os.py --file /lib/encodings/__init__.py=$w/lib/encodings/__init__.py"
rec ls $lib "$g/ls" /lib
rec stat --file /etc/motd="$w/motd" $lib "$g/stat" /etc/motd /lib /tmp /missing
rec clock "$g/clock"
rec echo-stdin --stdin "$w/stdin.txt" "$g/echo-stdin"
rec importer $lib "$g/importer" /lib
rec allcalls "$g/allcalls"
