"""``python -m dualad``: the demo and the cost commands of :mod:`dualad.costs.cli`."""

import sys

from .costs.cli import main

if __name__ == "__main__":
    sys.exit(main())
