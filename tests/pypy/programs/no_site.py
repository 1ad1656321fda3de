# Run with -S: no `site` module at start-up, the standard library still
# importable.
from __future__ import print_function
import sys

print("site" in sys.modules, sys.flags.no_site)
import json
print(json.dumps({"S": True}))
