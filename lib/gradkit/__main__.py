"""python -m gradkit: the gradkit command line."""

import sys

from .course.cli import main

sys.exit(main())
