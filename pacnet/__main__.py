"""``python -m pacnet``: the same command as ``pacnet``."""

import sys

from pacnet.main import main

sys.exit(main())
