# Run with -i: after the script, the interpreter reads statements from stdin
# (piped in, not a terminal) and runs them in the script's namespace.
from __future__ import print_function

greeting = "hi"
values = [1, 2, 3]
print("script done")
