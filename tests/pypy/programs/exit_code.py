# sys.exit(n) is the exit code; output written before it is kept.
from __future__ import print_function
import sys

print("exiting with 7")
sys.stdout.flush()
try:
    sys.exit(7)
finally:
    print("finally still runs")
