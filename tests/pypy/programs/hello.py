# The simplest program: print in its forms, to stdout and stderr.
from __future__ import print_function
import sys

print("hello, world")
print("a", "b", 3, sep="-", end="!\n")
print(6 * 7)
print("to stderr", file=sys.stderr)
sys.stdout.write("no newline")
sys.stdout.write(" then one\n")
print()
print("%s=%d %r %.3f" % ("x", 5, "q", 3.14159))
print("{0} {name} {1:>5}".format("a", "b", name="n"))
