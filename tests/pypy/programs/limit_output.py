# More output than --max-output allows: the first bytes pass, then the
# controller's notice, and the guest is ended (outcome `output`, exit 74).
from __future__ import print_function
import sys

for i in range(1000):
    sys.stdout.write("%04d:%s\n" % (i, "z" * 45))
    sys.stdout.flush()
print("never reached")
