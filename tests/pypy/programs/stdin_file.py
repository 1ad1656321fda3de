# --stdin FILE: stdin is a file of the fixture tree rather than a pipe.
from __future__ import print_function
import sys

words = [line.strip() for line in sys.stdin]
print(words, len(words))
