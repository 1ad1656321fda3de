# An endless computation under --cpu: the kernel's CPU limit ends it
# (outcome `cpu`, exit 72).
from __future__ import print_function
import sys

print("computing")
sys.stdout.flush()
x = 0
while True:
    x = (x * 31 + 7) % 1000003
