# The language itself: classes and inheritance, properties, generators,
# closures, comprehensions, decorators, context managers, slicing, sorting.
from __future__ import print_function
import contextlib


class Shape(object):
    count = 0

    def __init__(self, name):
        self.name = name
        Shape.count += 1

    def area(self):
        raise NotImplementedError

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, self.name)


class Square(Shape):
    def __init__(self, side):
        super(Square, self).__init__("square")
        self.side = side

    @property
    def perimeter(self):
        return 4 * self.side

    def area(self):
        return self.side ** 2


shapes = [Square(3), Square(1)]
print(shapes, Shape.count, [s.area() for s in shapes], shapes[0].perimeter)
print(sorted(shapes, key=lambda s: s.area()), isinstance(shapes[0], Shape))


def fib():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b


gen = fib()
print([next(gen) for _ in range(12)])


def counter():
    state = {"n": 0}

    def inc():
        state["n"] += 1
        return state["n"]
    return inc


c = counter()
print(c(), c(), c())


def twice(f):
    def wrapper(*args, **kwargs):
        return f(*f(*args, **kwargs))
    return wrapper


@twice
def swap(a, b):
    return b, a


print(swap(1, 2))
print({k: v for k, v in zip("abc", range(3))} == dict(a=0, b=1, c=2))
print(sorted({x % 5 for x in range(20)}), [x * y for x in range(3) for y in range(3) if x != y])


@contextlib.contextmanager
def tag(name):
    print("<%s>" % name)
    yield name.upper()
    print("</%s>" % name)


with tag("b") as t:
    print(t)
seq = list(range(10))
print(seq[2:8:2], seq[::-3], seq[-2:])
print(sorted("Sandbox Trace".lower().split(), reverse=True), max([3, 9, 2]), any([]), all([]))
