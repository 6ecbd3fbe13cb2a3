"""``python -m finscore``: the command line."""

import sys

from finscore.cli import main

sys.exit(main())
