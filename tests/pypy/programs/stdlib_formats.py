# Data formats from the standard library: json, re, hashlib, struct, base64,
# binascii (this build has no zlib).
from __future__ import print_function
import base64
import binascii
import hashlib
import json
import re
import struct

doc = {"name": "sandtrace", "calls": [1, 2, 3], "ok": True, "none": None, "pi": 3.5}
text = json.dumps(doc, sort_keys=True)
print(text)
print(json.loads(text) == doc)
print(json.dumps([{"b": 1, "a": [1, 2]}], indent=2, sort_keys=True))

print(re.findall(r"\d+", "a1b22c333"))
m = re.match(r"(?P<user>\w+)@(?P<host>[\w.]+)", "guest@sandbox.local")
print(m.group("user"), m.group("host"))
print(re.sub(r"(\w+) (\w+)", r"\2 \1", "hello world"))
print(re.split(r"[,;]\s*", "a, b;c ,d"))

data = b"sandtrace"
print(hashlib.md5(data).hexdigest())
print(hashlib.sha1(data).hexdigest())
print(hashlib.sha256(data).hexdigest())
h = hashlib.sha256()
for chunk in (b"sand", b"trace"):
    h.update(chunk)
print(h.hexdigest() == hashlib.sha256(data).hexdigest())

packed = struct.pack("<IhQ4s", 1, -2, 2 ** 40, b"abcd")
print(len(packed), binascii.hexlify(packed).decode("ascii"))
print(struct.unpack("<IhQ4s", packed)[:3])
print(struct.calcsize("<IhQ4s"))

print(base64.b64encode(data).decode("ascii"))
print(base64.b64decode(b"c2FuZHRyYWNl") == data)
print(base64.urlsafe_b64encode(b"\xfb\xff").decode("ascii"))
print(binascii.crc32(data) & 0xffffffff)
