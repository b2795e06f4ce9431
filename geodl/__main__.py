"""``python -m geodl ...`` is the ``geodl`` command (``torchrun -m geodl train ...`` runs it so)."""

import sys

from geodl.cli import main

sys.exit(main())
