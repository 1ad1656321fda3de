# Randomness comes from the controller's /dev/urandom, a stream seeded by
# --seed: the same seed gives the same bytes, run after run.
from __future__ import print_function
import binascii
import os
import random

first = os.urandom(16)
print(len(first), binascii.hexlify(first).decode("ascii"))
print(len(os.urandom(4096)))
print(first != os.urandom(16))
r = random.Random(12345)
print(r.random(), r.randrange(1000))
rnd = random.SystemRandom()
print(0 <= rnd.random() < 1)
with open("/dev/urandom", "rb") as f:
    print(binascii.hexlify(f.read(8)).decode("ascii"))
