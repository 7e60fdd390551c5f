"""The evidence commands: collect, collector, attach and analyze."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wizard.base.errors import ExitStatus, TriageError
from wizard.calls.journal import atomic_write
from wizard.frontends.terminal.environment import Environment


def cmd_collect(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.evidence.packet import is_admin
    from wizard.service.evidence import make_packet, plan_packet

    desk = env.desk(args)
    plan = plan_packet(desk, call_ref=args.call, computer=args.computer, target=args.target,
                       out_dir=Path(args.output), redact=args.redact, system=env.system)
    if plan.warning:
        env.warn(plan.warning)
    if is_admin() is False:
        env.warn("not running as administrator: some evidence (event logs, IPsec state) "
                 "will be missing; run it again as an administrator for the full set")
    changes = plan.changes
    make_changes = bool(changes) and not args.no_changes
    if changes and make_changes and not args.yes:
        env.stdout.write("To capture the logs Tier 2 needs, these changes are made on this "
                         "computer and undone at the end:\n")
        for ch in changes:
            env.stdout.write(f"  - {ch.what}; to undo by hand: {ch.undo_text}\n")
        if env.interactive:
            from wizard.frontends.terminal.prompts import confirm

            make_changes = confirm("Make these changes (undone at the end)?")
        else:
            make_changes = False
            env.stdout.write("No terminal to confirm: collecting without changes "
                             "(use --yes to allow them).\n")

    def progress(name: str) -> None:
        env.stdout.write(f"collecting: {name}\n")
        env.stdout.flush()

    path, ev = make_packet(desk, plan, make_changes=make_changes, on_progress=progress)
    errors = [e for e in ev.entries if e.get("error")]
    env.stdout.write(f"Packet: {path}\n{len(ev.files)} files collected, "
                     f"{len(errors)} with errors (see manifest.json)\n")
    for change in ev.changes:
        if change["applied"] and not change["undone"]:
            env.warn(f"could not undo '{change['what']}': {change['undo']}")
    if args.redact:
        env.stdout.write(f"Redaction map (keep it private, not in the packet): "
                         f"{path.name}.redaction-map.json\n")
    return ExitStatus.OK


def cmd_collector(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.service.evidence import RUN_AS_ADMIN, collector_script

    script = collector_script(env.desk(args), call_ref=args.call, computer=args.computer,
                              target=args.target, ports=tuple(args.port))
    if args.output == "-":
        env.stdout.write(script.text)
        return ExitStatus.OK
    path = Path(args.output or script.name).expanduser()
    try:
        atomic_write(path, script.text)
    except OSError as exc:
        raise TriageError(f"cannot write the collector script {path}: "
                          f"{exc.strerror or exc}", ExitStatus.USAGE) from None
    env.stdout.write(f"Collector script: {path}\n"
                     + RUN_AS_ADMIN.format(name=path.name) + "\n"
                     "It writes one zip and sends nothing: the caller sends it back; take it "
                     f"into the call with: ipsec-triage attach {script.call_id or 'ID'} "
                     "PACKET.zip\n")
    return ExitStatus.OK


def cmd_attach(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.service.evidence import attach_packet

    done = attach_packet(env.desk(args), args.call_id, Path(args.packet).expanduser(),
                         redact=args.redact, by=env.default_staffer())
    evidence = [n for n, _ in done.members if n.startswith("evidence/")]
    env.stdout.write(f"Packet kept with the call: {done.path}\n{len(evidence)} evidence "
                     f"files{' (redacted; map beside it)' if done.redacted else ''}\n")
    for f in done.findings:
        env.stdout.write(f"For Tier 2: {f['peer']}: {f['failure_reason']} ({f['count']}x): "
                         f"{f['likely_cause']}\n")
    for path in done.tickets:
        env.stdout.write(f"Ticket written again: {path}\n")
    return ExitStatus.OK


def cmd_analyze(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from wizard.evidence.analysis import analyze

    report = analyze([Path(f).expanduser() for f in args.files])
    if args.format == "json":
        env.stdout.write(json.dumps(report.data(), indent=2, ensure_ascii=False) + "\n")
    else:
        env.stdout.write(report.text())
    return ExitStatus.OK
