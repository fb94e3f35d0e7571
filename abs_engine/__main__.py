"""``python -m abs_engine`` runs the command line."""

from abs_engine.cli import main

raise SystemExit(main())
