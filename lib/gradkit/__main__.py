"""python -m gradkit: the gradkit command line."""

import sys

from .cli import main

sys.exit(main())
