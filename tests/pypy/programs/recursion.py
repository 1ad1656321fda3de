# Deep recursion: 900 calls deep works under the default limit; endless
# recursion raises (RecursionError in Python 3, RuntimeError in Python 2),
# which the program catches and goes on.
from __future__ import print_function


def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)


print(depth(900))


def forever(n):
    return forever(n + 1)


try:
    forever(0)
except RuntimeError as e:
    print(type(e).__name__, str(e).startswith("maximum recursion depth exceeded"))
print(depth(100))
