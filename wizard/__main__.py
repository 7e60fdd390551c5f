"""``python -m wizard``: the same as the ``ipsec-triage`` command."""

from .cli import main

raise SystemExit(main())
