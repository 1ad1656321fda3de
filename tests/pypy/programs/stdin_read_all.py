# Reads all of stdin at once (piped into sandtrace) and reports on it.
from __future__ import print_function
import sys

data = sys.stdin.read()
lines = data.splitlines()
print(len(data), len(lines), len(data.split()))
print(lines[0].upper())
print(sorted(set(data.split()))[:3])
print(repr(sys.stdin.read()))
