# The logging module writes to stderr; warnings too.
from __future__ import print_function
import logging
import warnings

logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s", level=logging.INFO)
log = logging.getLogger("corpus")
log.debug("hidden")
log.info("starting")
log.warning("careful: %d", 3)
warnings.warn("old api", DeprecationWarning)
warnings.warn("something odd")
print("done")
