"""What a ticket says: the call record as the templates' context (route, answers, checks,
log files, the attached evidence), and the error a ticket that cannot be written raises."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.textrender import render_lenient
from wizard.calls.call import check_location
from wizard.calls.engine import Step
from wizard.flows import answer_rules
from wizard.flows.nodes import ActionNode, ChoiceNode, TerminalNode, windows_family

if TYPE_CHECKING:
    from wizard.calls.call import Call


FORMATS = {"md": "ticket.md.j2", "txt": "ticket.txt.j2"}


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class TicketError(TriageError):
    """A template is missing or broken. ``str()`` is one line."""

    status = ExitStatus.CONFIG


#: What the log step has the caller run on Windows Vista and later (IPsec_Debug.vbs
#: needs tools those versions do not have).
MODERN_LOG_FILES = (
    ("mmsa.txt", "netsh advfirewall monitor show mmsa: IKE main mode security associations"),
    ("ike_events.txt", "Security log events 4650-4654 and 5451-5453 (IKE and IPsec)"),
    ("gpresult.html", "Group Policy result (gpresult /h)"),
    ("system_events.txt", "System log service failure events 7000, 7001 and 7023 (a server "
     "without network)"),
)


def log_files(comp: str, srv: str, family: str | None = None) -> list[dict[str, str]]:
    """The log files the call asked for, named for this call: on Windows Vista and later
    what the log step's commands write; otherwise the IPsec_Debug.vbs output of Table 7.3.

    ``srv`` is the destination computer; without one (a server that lost its own network)
    the per-destination ping and net view files are left out.
    """
    if family == "vista_later":  # a caller's call: the IPsec files; a server's: its events
        chosen = MODERN_LOG_FILES[:3] if srv else MODERN_LOG_FILES[3:]
        return [{"name": f"{comp}_{suffix}", "description": d} for suffix, d in chosen]
    rows = [
        ("FileVer.txt", "File versions of the IPsec-related DLLs"),
        ("gpresult.txt", "Output of the gpresult command"),
        ("ipsec_547_events.txt", "IPsec 547 events from the Security event log"),
        ("ipsec_policy_version.txt",
         "Detect_IPsec_Policy.vbs output: policy version and whether it matches Active Directory"),
        ("ipseccmd_show_all.txt", "ipseccmd output (Windows XP only)"),
        ("kerberos_events.txt", "Kerberos events from the System event log"),
        ("klist_purge_mt.txt", "KList output while purging machine tickets"),
        ("lsass.log", "Copy of lsass.log, if present"),
        ("netdiag.txt", "netdiag output"),
        ("netsh_show_all.txt", "netsh show all output (server platforms only)"),
        ("netsh_show_gpo.txt", "netsh show gpo output (server platforms only)"),
        ("oakley.log", "Copy of Oakley.log, if present"),
        ("OSInfo.txt", "Operating system information"),
        ("RegDefault.txt", "Registry values before the script changed them (to put them back)"),
        ("userenv.log", "Copy of userenv.log, if present"),
        ("winlogon.log", "Copy of winlogon.log, if present"),
    ]
    files = [{"name": f"{comp}_{suffix}", "description": d} for suffix, d in rows]
    if srv:
        files.append({"name": f"{comp}_{srv}_netview.txt",
                      "description": f"net view against {srv}"})
        files.append({"name": f"{comp}_{srv}_ping.txt", "description": f"ping against {srv}"})
    return files


def build_context(call: Call, step: Step) -> dict[str, Any]:
    node = step.visit.node
    assert isinstance(node, TerminalNode)
    ctx = step.context
    state = call.state
    changed_keys = {c["key"] for c in state.changes}

    def var_label(var: str) -> str:
        for v in step.route:
            if getattr(v.node, "var", None) == var and v.value is not None:
                return answer_rules.label(v.node, v.value)
        return ""

    route: list[dict[str, Any]] = []
    number = 0
    for v in step.route:
        if not v.answered:
            continue
        number += 1
        probe = state.probes.get(v.key)
        rec = state.answers.get(v.key)
        route.append({
            "number": number,
            "key": v.key,
            "chart": v.chart,
            "chart_title": call.fs.charts[v.chart].title,
            "question": call.text(v.node.text, step),
            "command": call.command(v.node, step, sep="; ", steps=" & "),
            "answer": answer_rules.label(v.node, v.value or ""),
            "answered_by": rec.source if rec else "staffer",
            "answered_at": rec.at if rec else "",
            "suggested": (answer_rules.label(v.node, rec.suggested)
                          if rec and rec.suggested else ""),
            "probe": probe.to_dict() if probe else None,
            "ran_on": check_location(state.runs_on),
            "notes": list(state.notes.get(v.key, [])),
            "changed": v.key in changed_keys,
            "kind": v.node.kind,
        })
    charts_used: list[str] = []
    for v in step.route:
        title = call.fs.charts[v.chart].title
        if title not in charts_used:
            charts_used.append(title)
    comp = str(ctx.get("caller_machine") or "CompName")
    family = windows_family(ctx.get("windows"))
    logs_done = [v for v in step.route
                 if isinstance(v.node, ActionNode) and v.node.logs and v.value == "done"]
    not_admin = any(getattr(v.node, "var", None) == "caller_admin" and v.value == "no"
                    for v in step.route)
    if logs_done:
        logs_note = ""
    elif not_admin:
        logs_note = (f"No logs: the caller is not a local administrator of {comp}, and the "
                     "log tools need it.")
    else:
        logs_note = "No logs were requested on this call."
    srv = str(ctx.get("target") or "")
    ended = state.ended
    if ended is not None and ended.get("terminal") == step.visit.node_key:
        group = str(ended.get("tier2_group") or "")  # as recorded at the end of the call
    else:
        group = call.escalation_group(step) or ""
    all_notes = [
        {"key": k, "text": t} for k, texts in state.notes.items() for t in texts
    ]
    questions = {r["key"]: r["question"] for r in route}
    sensitive = [{"what": r["what"], "t": r["t"],
                  "question": questions.get(r["step"]) or r["step"]}
                 for r in state.sensitive_requests]
    choice_vars = {
        getattr(v.node, "var", None) for v in step.route if isinstance(v.node, ChoiceNode)
    }
    return {
        "call": {
            "id": call.call_id,
            "staffer": state.staffer,
            "started": state.started,
            "runs_on": state.runs_on,
            "mode": state.mode,
            "resumed": len(state.resumed),
            "flowcharts": call.fs.versions(),
        },
        "caller": {
            "name": ctx.get("caller_name", ""),
            "contact": ctx.get("caller_contact", ""),
            "machine": ctx.get("caller_machine", ""),
        },
        # a server that lost its own network: the machine is the server, not a caller's
        "server_call": ctx.get("call_type") == "server_no_network",
        "target": ctx.get("target", ""),
        "target_ip": ctx.get("target_ip", ""),
        "tried": ctx.get("tried", ""),
        "since": ctx.get("since", ""),
        "existing_ticket": ctx.get("existing_ticket", ""),
        "scope": var_label("scope"),
        "extent": var_label("extent"),
        "address_type": var_label("address_type"),
        "severity": var_label("severity"),
        "answers": {k: (var_label(k) if k in choice_vars else v) for k, v in ctx.items()},
        "status": {"value": node.status.value, "label": node.status.label},
        "category": {"value": node.category.value, "label": node.category.label},
        "outcome": call.text(node.text, step),
        "terminal": step.visit.node_key,
        "escalate": node.tier2,
        "tier2_group": group,
        "charts_used": charts_used,
        "route": route,
        "notes": all_notes,
        "sensitive_requests": sensitive,
        "checks_ran_on": check_location(state.runs_on),
        "changes": state.changes,
        "log_files": log_files(comp, srv, family) if node.tier2 and logs_done else [],
        "logs_note": logs_note if node.tier2 else "",
        "logs_command": (call.command(logs_done[-1].node, step, sep="; ", steps=" & ")
                         if logs_done else ""),
        "windows": var_label("windows"),
        "packet": attached_packet(state.packets),
        "known_issues": [
            {"id": h.entry.id, "title": h.entry.title, "why": h.why,
             "ticket": render_lenient(h.entry.ticket, ctx, "(not recorded)").strip(),
             "escalate_to": h.entry.escalate_to}
            for h in call.known_issues(step)
        ],
    }


def attached_packet(packets: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest packet taken into the call with ``attach`` (its evidence files and the
    analysis's findings, as the journal recorded them), for the ticket."""
    for rec in reversed(packets):
        if rec.get("source") != "attached":
            continue
        files = [f for f in rec.get("files") or [] if isinstance(f, dict)
                 and str(f.get("name", "")).startswith("evidence/")]
        return {"name": Path(str(rec.get("path", ""))).name,  # escaped as it is printed
                "redacted": bool(rec.get("redacted")),
                "windows_build": str(rec.get("windows_build") or ""),
                "files": [{"name": str(f["name"])[len("evidence/"):],
                           "size": int(f.get("size") or 0)} for f in files],
                "findings": [dict(f) for f in rec.get("findings") or []
                             if isinstance(f, dict)]}
    return None
