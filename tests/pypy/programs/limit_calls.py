# More requests than --max-calls allows: the guest is ended (outcome
# `max-calls`, exit 75); the output flushed before stays.
from __future__ import print_function
import os
import sys

print("calling")
sys.stdout.flush()
for i in range(1000000):
    os.stat("/tmp")
print("never reached")
