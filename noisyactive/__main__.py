"""``python -m noisyactive``."""

import sys

from noisyactive.cli import main

if __name__ == "__main__":
    sys.exit(main())
