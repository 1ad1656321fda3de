# Large output: 40000 numbered lines (about 1.7 MB) written with print.
from __future__ import print_function

for i in range(40000):
    print("line %05d %s" % (i, "abcdefghijklmnopqrstuvwxyz"[i % 26] * 30))
