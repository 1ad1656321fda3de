# -*- coding: utf-8 -*-
# Non-ASCII text: the UTF-8 bytes, and print() of a unicode string, which
# both builds encode as UTF-8 (pypy2 because PYTHONIOENCODING=utf-8 is in its
# environment, pypy3 from the UTF-8 locale; docs/run.md).
from __future__ import print_function
import sys

s = u"caf\u00e9 \u2603"
print(len(s), len(s.encode("utf-8")))
print(repr(s.encode("utf-8")))
print(s.upper() == u"CAF\u00c9 \u2603")
print(u"na\u00efve".encode("utf-8").decode("utf-8") == u"na\u00efve")
sys.stdout.flush()
print(s)
