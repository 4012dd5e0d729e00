"""``python -m nasforge ...`` is the ``nasforge`` command."""

import sys

from .cli import main

sys.exit(main())
