"""``python -m imuhip.cli``."""

from imuhip.cli import main

raise SystemExit(main())
