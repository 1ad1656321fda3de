# The default clock is frozen at 2019-08-01 00:00:00 UTC: every reading is
# the same instant, and the calendar functions agree with it.
from __future__ import print_function
import calendar
import datetime
import time

t = time.time()
print(t, time.time() == t)
print(time.gmtime(t)[:6])
print(time.strftime("%Y-%m-%d %H:%M:%S %a %j", time.gmtime(t)))
print(calendar.timegm(time.gmtime(t)) == int(t))
print(datetime.datetime.utcfromtimestamp(t).isoformat())
print(datetime.datetime.utcnow().isoformat())
print(datetime.date.today().isoformat())
print(time.strftime("%Y-%m-%d %H:%M", time.localtime(t)))
d = datetime.datetime(2019, 8, 1) + datetime.timedelta(days=30, hours=5)
print(d.isoformat(), d.strftime("%A %B"), (d - datetime.datetime(2019, 1, 1)).days)
print(datetime.date(2019, 8, 1).isocalendar(), datetime.date(2020, 2, 29).weekday())
print(calendar.isleap(2020), calendar.monthrange(2019, 2))
