# --time real: the guest reads the real clock (later than this file was
# written, and moving forwards).
from __future__ import print_function
import datetime
import time

t1 = time.time()
print(t1 > 1700000000)
print(datetime.datetime.utcfromtimestamp(t1).year >= 2023)
n = 0
while time.time() == t1:
    n += 1
t2 = time.time()
print(t2 >= t1, t2 - t1 < 60)
