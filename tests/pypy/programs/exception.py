# An uncaught exception: the traceback on stderr, exit code 1, and what was
# printed before it still on stdout.
from __future__ import print_function


def parse(text):
    return int(text)


def main():
    print("parsing")
    values = [parse(t) for t in ("1", "2")]
    print(sum(values))
    parse("three")


main()
