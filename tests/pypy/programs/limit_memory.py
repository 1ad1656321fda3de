# Allocating without end under --memory: the interpreter raises MemoryError,
# which this program catches before exiting normally.
from __future__ import print_function
import sys

print("allocating")
sys.stdout.flush()
blocks = []
try:
    while True:
        blocks.append(bytearray(16 * 1024 * 1024))
except MemoryError:
    n = len(blocks)
    del blocks
    print("MemoryError", 0 < n < 64)
