# -*- coding: utf-8 -*-
# Non-ASCII text: the UTF-8 bytes, and print() of a unicode string (which
# Python 2 encodes as ASCII when stdout is not a terminal, and fails).
from __future__ import print_function
import sys

s = u"caf\u00e9 \u2603"
print(len(s), len(s.encode("utf-8")))
print(repr(s.encode("utf-8")))
print(s.upper() == u"CAF\u00c9 \u2603")
print(u"na\u00efve".encode("utf-8").decode("utf-8") == u"na\u00efve")
sys.stdout.flush()
print(s)
