# Text processing: string, textwrap, difflib, StringIO, pickle round trips
# (this build has no _csv, so no csv).
from __future__ import print_function
import difflib
import pickle
import string
import textwrap

from io import StringIO

print(string.ascii_lowercase, string.digits, string.punctuation[:5])
print(string.Template("$who likes $what").substitute(who="tim", what="kung pao"))
text = ("Sandboxed code runs in a world the controller makes up: files, "
        "time, identity and the environment are all virtual.")
print(textwrap.fill(text, width=30))
print(textwrap.dedent("    a\n      b\n    c"))
if hasattr(textwrap, "shorten"):
    print(textwrap.shorten(text, 40))
else:
    print("textwrap has no shorten")
print("|".join(difflib.ndiff(["a", "b", "c"], ["a", "c", "d"])))
print(round(difflib.SequenceMatcher(None, "sandtrace", "sandbox").ratio(), 4))
buf = StringIO()
buf.write(u"name,count\n")
buf.write(u"a;b,3\n")
print([line.split(u",") for line in buf.getvalue().splitlines()] == [[u"name", u"count"], [u"a;b", u"3"]])
obj = {"list": [1, 2.5, "s"], "tuple": (None, True)}
for proto in range(pickle.HIGHEST_PROTOCOL + 1):
    assert pickle.loads(pickle.dumps(obj, proto)) == obj
print("pickle ok")
print("  strip me  ".strip(), "a,b,,c".split(","), "x".join("abc"), "Title Case".swapcase())
print("abc".center(9, "*"), "42".zfill(5), "hello"[::-1], "banana".count("an"))
