# os.fork is not part of the sandboxed interpreter: calling it aborts the
# guest (its "reached forbidden function" message, then SIGABRT), which the
# controller reports as a signal.
from __future__ import print_function
import os
import sys

print("forking")
sys.stdout.flush()
os.fork()
print("never reached")
