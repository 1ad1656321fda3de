# An exception raised while handling another: Python 3 prints both (the
# context), Python 2 only the last.
from __future__ import print_function


def load():
    try:
        {}["config"]
    except KeyError:
        raise ValueError("no config")


print("start")
load()
