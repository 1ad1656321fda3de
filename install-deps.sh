#!/bin/sh
# Installs the Debian packages that sandtrace needs to build and test, with
# apt-get (through sudo when not run as root). Used by `make deps` and CI.
# zstd (the command) unpacks the real PyPy builds that `make test` runs
# (make pypy-fixtures); python3 runs the foreign controller of the tap tests
# (tests/tracer/foreign_controller.py).
set -e
PKGS="build-essential pkg-config libzstd-dev libprotobuf-c-dev protobuf-c-compiler
      libcmocka-dev libseccomp-dev libxxhash-dev libsodium-dev libsqlite3-dev zstd python3"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: every package is installed"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-deps: missing:$missing" >&2
    echo "install-deps: run as root: apt-get install$missing" >&2
    exit 1
fi
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
