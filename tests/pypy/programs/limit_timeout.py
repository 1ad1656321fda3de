# An endless loop under --timeout: the controller ends the guest at the
# deadline (outcome `timeout`, exit 71); what was flushed before stays.
from __future__ import print_function
import sys

print("looping")
sys.stdout.flush()
while True:
    pass
