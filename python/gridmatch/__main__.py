"""``python -m gridmatch``: the command line (see :mod:`gridmatch.cli`)."""

from gridmatch.cli import main

raise SystemExit(main())
