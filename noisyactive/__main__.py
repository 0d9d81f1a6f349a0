"""``python -m noisyactive``."""

import sys

from noisyactive.cli import main

sys.exit(main())
