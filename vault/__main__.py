"""``python -m vault`` runs the ringfence command line."""

from vault.cli import main

raise SystemExit(main())
