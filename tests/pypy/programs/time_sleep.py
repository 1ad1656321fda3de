# time.sleep() returns after the delay (and at once for 0), whatever clock
# the guest is given.
from __future__ import print_function
import time

time.sleep(0)
print("slept 0")
time.sleep(0.01)
print("slept 0.01")
