"""``ipsec-triage``: the command line. Subcommands: start (default), resume, list, show,
ticket, lint, render, schema, probes, ...; ``serve`` runs the web front end under uvicorn
(named by its import string, never imported here) and ``users`` manages its accounts.

``parser``: the options; ``dispatch``: :func:`main` and the table of commands, each
loaded when it runs from its area's module: ``calls`` (start, resume, list, show,
ticket and the live call), ``records`` (send, sync; report and store in
:mod:`wizard.frontends.terminal.reporting`), ``flows`` (lint, render, schema, probes),
``desk`` (serve, users, completion), ``evidence`` (collect, collector, attach, analyze),
``halving`` (halve); ``common``: what they share.
Exit codes: :class:`wizard.base.errors.ExitStatus`."""

from wizard.frontends.terminal.cli.dispatch import HANDLERS, main
from wizard.frontends.terminal.cli.parser import COMMANDS, GLOBAL_OPTIONS, build_parser

__all__ = ["COMMANDS", "GLOBAL_OPTIONS", "HANDLERS", "build_parser", "main"]
