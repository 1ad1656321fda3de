# sys.exit("message") prints the message on stderr and exits with 1.
from __future__ import print_function
import sys

print("before")
sys.exit("fatal: bad input")
