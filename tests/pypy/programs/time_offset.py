# --time offset:SECONDS: the real clock shifted, here by 100 years (3155760000
# seconds) into the future.
from __future__ import print_function
import time

t = time.time()
year = time.gmtime(t).tm_year
print(year >= 2123, year < 2300)
print(t > 1700000000 + 3155760000)
