"""``python -m garden`` is the same as the ``garden`` command."""

from garden.cli import main

raise SystemExit(main())
