# Exceptions raised and caught: the kinds untrusted code meets every day.
from __future__ import print_function
import traceback
import sys

for f in (lambda: 1 / 0, lambda: [][1], lambda: {}["k"], lambda: int("x"),
          lambda: None.attr, lambda: undefined_name, lambda: "a" + 1):
    try:
        f()
    except Exception as e:
        print(type(e).__name__)


class AppError(Exception):
    pass


try:
    try:
        raise AppError("inner")
    finally:
        print("finally runs")
except AppError as e:
    print("caught", e.args)

try:
    raise KeyError("k")
except KeyError:
    lines = traceback.format_exc().splitlines()
    print(lines[0])
    print(lines[-1])
sys.stdout.flush()
