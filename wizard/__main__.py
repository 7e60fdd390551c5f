"""``python -m wizard``: the same as the ``ipsec-triage`` command."""

from wizard.frontends.terminal.cli import main

raise SystemExit(main())
