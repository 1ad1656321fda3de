# Reads stdin line by line, answering each, the way a filter or a judge's
# solution does; input() (raw_input() in Python 2) too.
from __future__ import print_function
import sys

try:
    read_line = raw_input
except NameError:
    read_line = input

n = int(read_line())
total = 0
for _ in range(n):
    a, b = map(int, read_line().split())
    total += a * b
    print(a * b)
print("total", total)
rest = [line.strip() for line in sys.stdin]
print(rest)
try:
    read_line()
except EOFError:
    print("EOF")
