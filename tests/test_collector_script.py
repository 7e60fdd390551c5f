"""The PowerShell collector: generated from the collector declarations, parsed by a real
PowerShell grammar (tree-sitter) for every call shape, PowerShell 5.1 syntax only,
only programs and cmdlets that ship with Windows 10/11 and Server 2016+, and the layout
it writes is the one ``attach`` reads.

Not run on Windows here: these are grammar and contract tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_powershell
import tree_sitter_pwsh

from wizard.base.errors import TriageError
from wizard.evidence import layout
from wizard.evidence.base import Collector, Command, powershell
from wizard.evidence.collectors import AUDIT_SUBCATEGORIES, COLLECTORS
from wizard.evidence.script import ScriptRequest, generate, script_context, script_tasks

from .helpers.calls import start_call_by_command
from .helpers.run import cli_env, run_cli

GRAMMARS = {"tree-sitter-powershell": tree_sitter_powershell.language(),
            "tree-sitter-pwsh": tree_sitter_pwsh.language()}

SHAPES = [
    ScriptRequest("pc-01"),
    ScriptRequest("PC-01", "fs01.corp.example"),
    ScriptRequest("ws-ann", "fin-app01.woodgrove.example", "10.20.30.40",
                  "20261207-224700-ab12", (445, 8443)),
    ScriptRequest("ws-ann", "fe80::1%12", None, "20261207-224700-ab12"),
    ScriptRequest("ws-o-brien", "2001:db8::5", "2001:db8::5", None, (445,)),
]

#: Programs and cmdlets that ship with Windows 10/11 and Windows Server 2016 and later
#: (System32 tools and the PowerShell 5.1 modules Microsoft.PowerShell.*, NetSecurity,
#: NetTCPIP, NetConnection (Test-NetConnection), CimCmdlets).
ALLOWED = {
    # programs
    "auditpol", "netsh", "gpresult", "klist", "dsregcmd", "nltest", "systeminfo", "ping",
    "net", "powershell.exe",
    # cmdlets
    "Get-NetIPsecMainModeSA", "Get-NetIPsecQuickModeSA", "Get-NetIPsecRule",
    "Get-NetFirewallProfile", "Get-NetIPConfiguration", "Test-NetConnection", "Get-WinEvent",
    "Get-CimInstance", "Get-Service", "Select-Object", "ConvertTo-Json", "ForEach-Object",
    "Join-Path", "Get-Content", "Remove-Item", "Test-Path", "Out-Null", "Out-String",
    "Write-Host", "Read-Host", "New-Object", "New-Item", "Get-Location", "Get-Command",
    "Start-Job", "Wait-Job", "Receive-Job", "Stop-Job", "Remove-Job", "Get-FileHash",
    "Get-Item", "Get-Date", "Add-Type",
    # the script's own functions
    "Invoke-Program", "Invoke-Code", "Get-Sha256",
}


def parse(text: str, grammar: str) -> tree_sitter.Tree:
    return tree_sitter.Parser(tree_sitter.Language(GRAMMARS[grammar])).parse(text.encode())


def nodes(tree: tree_sitter.Tree) -> list[tree_sitter.Node]:
    out, stack = [], [tree.root_node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.children)
    return out


@pytest.mark.parametrize("grammar", sorted(GRAMMARS))
@pytest.mark.parametrize("req", SHAPES, ids=lambda r: f"{r.computer}-{r.target}-{r.call_id}")
def test_the_script_parses_without_an_error_node(req: ScriptRequest, grammar: str) -> None:
    text = generate(req)
    bad = [(n.start_point, text.encode()[n.start_byte:n.end_byte][:60])
           for n in nodes(parse(text, grammar)) if n.type == "ERROR" or n.is_missing]
    assert not bad, bad


def code_only(text: str) -> str:
    """The script without its comments and string literals."""
    tree = parse(text, "tree-sitter-pwsh")
    data = bytearray(text.encode())
    for n in nodes(tree):
        if "comment" in n.type or "string" in n.type:
            data[n.start_byte:n.end_byte] = b" " * (n.end_byte - n.start_byte)
    return data.decode("utf-8", "replace")


@pytest.mark.parametrize("req", SHAPES[2:4])
def test_no_syntax_newer_than_powershell_5_1(req: ScriptRequest) -> None:
    code = code_only(generate(req))
    for newer in ("?.", "??", "&&", "||", "-Parallel", "?[", "clean {"):
        assert newer not in code, newer
    # the ternary a ? b : c (PowerShell 7): a "?" outside strings and comments
    assert not re.search(r"\s\?\s", code)


def test_the_string_check_would_see_newer_syntax() -> None:
    """The 5.1 check reads code, not strings: a ternary in code is seen, in a string not."""
    assert re.search(r"\s\?\s", code_only("$a = $b ? 1 : 2\n"))
    assert not re.search(r"\s\?\s", code_only("$a = 'b ? 1 : 2'\n"))


def called(text: str) -> set[str]:
    names = set()
    for n in nodes(parse(text, "tree-sitter-pwsh")):
        if n.type == "command_name":
            names.add(text.encode()[n.start_byte:n.end_byte].decode())
    return names


@pytest.mark.parametrize("req", SHAPES)
def test_every_program_and_cmdlet_ships_with_windows(req: ScriptRequest) -> None:
    text = generate(req)
    ctx = script_context(req)
    programs = {cmd.argv[0] for _, cmd in script_tasks(ctx)}
    programs |= {ch.apply[0] for col in COLLECTORS if col.script for ch in col.changes(ctx)}
    names = called(text) | programs
    assert names - ALLOWED == set()
    assert {"Get-NetIPsecMainModeSA", "auditpol", "Test-NetConnection", "netsh"} <= names


def test_a_program_not_on_the_allow_list_is_found() -> None:
    extra = Collector("extra", "a tool Windows does not ship", ("win32",),
                      lambda ctx: [Command("x.txt", ("netdiag", "/v")),
                                   powershell("y.txt", "Get-AdComputer x")], script=True)
    req = ScriptRequest("pc-01")
    text = generate(req, (*COLLECTORS, extra))
    ctx = script_context(req)
    programs = {cmd.argv[0] for _, cmd in script_tasks(ctx, (*COLLECTORS, extra))}
    assert (called(text) | programs) - ALLOWED == {"netdiag", "Get-AdComputer"}


def test_the_script_is_made_from_the_declarations() -> None:
    req = ScriptRequest("ws-ann", "fs01", "10.1.2.3", "20261207-224700-ab12", (445, 8443))
    text = generate(req)
    tasks = script_tasks(script_context(req))
    assert len(tasks) >= 30
    for _, cmd in tasks:
        assert layout.member_ok(f"evidence/{cmd.filename}"), cmd.filename
        assert f"File = 'evidence/{cmd.filename}'" in text
    assert len({cmd.filename for _, cmd in tasks}) == len(tasks)
    # the legacy (2003) collectors stay with collect only
    assert "netdiag" not in text and "ipseccmd" not in text and "oakley" not in text.lower()
    assert "ws-ann_fs01_port8443.json" in text and "-Port 8443" in text
    assert "'10.1.2.3'" in text  # the WFP drops are those for the call's target address
    for _, guid in AUDIT_SUBCATEGORIES:
        assert f"'/subcategory:{guid}'" in text
    # the backup is made first and restored in the finally block, in the work folder
    assert "Apply = @('auditpol', '/backup', ('/file:' + $Work + '\\auditpol-backup.csv'))" in text
    assert text.index("} finally {") < text.index("$change.Undo[0]")


def test_a_collector_added_to_the_list_is_in_the_script() -> None:
    extra = Collector("extra", "ipconfig", ("win32",),
                      lambda ctx: [Command(f"{ctx.comp}_ipconfig_all.txt", ("ipconfig", "/all"))],
                      script=True)
    text = generate(ScriptRequest("pc-01"), (*COLLECTORS, extra))
    assert "File = 'evidence/pc-01_ipconfig_all.txt'" in text and "Exe = 'ipconfig'" in text


def test_the_manifest_it_writes_has_the_layout_keys() -> None:
    text = generate(ScriptRequest("pc-01"))
    manifest = text.split("$manifest = [ordered]@{", 1)[1].split("\n}", 1)[0]
    written = set(re.findall(r"^\s+(\w+) = ", manifest, re.M))
    assert set(layout.MANIFEST_KEYS) | set(layout.SCRIPT_KEYS) <= written
    entry = text.split("$entry = [ordered]@{", 1)[1].split("}", 1)[0]
    assert set(layout.FILE_KEYS) <= set(re.findall(r"(\w+) = ", entry))
    assert "$checksums[$entry.file] = $entry.sha256" in text
    assert "CreateFromDirectory($Pack, $zip)" in text  # manifest.json and evidence/ at the top


def test_refuses_when_not_elevated_and_says_how_to_run_it() -> None:
    text = generate(ScriptRequest("pc-01", call_id="20261207-224700-ab12"))
    assert "powershell -ExecutionPolicy Bypass -File .\\ipsec-collect_pc-01_20261207-224700-ab12" \
           ".ps1" in text
    elevated = text.index("IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)")
    assert elevated < text.index("foreach ($change in $Changes)")
    assert "exit 2" in text[elevated:elevated + 400]
    assert "IPsec_Debug.vbs" in text.split("[CmdletBinding()]")[0]


@pytest.mark.parametrize("req, message", [
    (ScriptRequest("pc'; Remove-Item C:\\ -Recurse; '"), "is not a valid host name"),
    (ScriptRequest("pc-01", "fs01' + (Stop-Computer) + '"), "target:"),
    (ScriptRequest("pc-01", call_id="x'; Stop-Computer; '"), "is not a call id"),
    (ScriptRequest("pc-01", address="fs01.example"), "is not an IP address"),
    (ScriptRequest("pc-01", ports=(445, 70000)), "not a TCP port"),
    (ScriptRequest("-Command"), "looks like a command option"),
])
def test_values_are_checked_before_they_reach_the_script(req: ScriptRequest,
                                                          message: str) -> None:
    with pytest.raises(TriageError, match=re.escape(message)):
        generate(req)


def test_collector_command_writes_the_script_for_a_call(tmp_path: Path, data_dir: Path) -> None:
    env = cli_env(data_dir)
    start_call_by_command(tmp_path, env)
    r = run_cli(["collector", "--call", "last", "--port", "8080"], env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (script,) = tmp_path.glob("ipsec-collect_ws-sample01_*.ps1")
    text = script.read_text()
    assert "$Computer = 'ws-sample01'" in text and "-Port 8080" in text
    assert "powershell -ExecutionPolicy Bypass -File" in r.stdout
    assert re.search(r"\$CallId = '\d{8}-\d{6}-[0-9a-f]{4}'", text)
    bad = run_cli(["collector", "--computer", "a;b"], env, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "computer: 'a;b' is not a valid host name" in bad.stderr


def test_collect_runs_the_same_declarations_and_restores_the_audit_policy(
        tmp_path: Path) -> None:
    """The other runner: ``collect`` on a Windows (captured output) makes the same audit
    changes, runs the same PowerShell code through powershell.exe, and restores the
    saved audit policy after the capture."""
    from wizard.config.organization import OrgConfig
    from wizard.evidence import make_packet

    from .test_collect import CapturedWindows, read_zip, request

    system = CapturedWindows()
    path, ev = make_packet(request(tmp_path, target="fs01"), system, OrgConfig())
    argvs = system.argvs
    backup = next(i for i, a in enumerate(argvs) if a[:2] == ("auditpol", "/backup"))
    sets = [i for i, a in enumerate(argvs) if a[:2] == ("auditpol", "/set")]
    restore = next(i for i, a in enumerate(argvs) if a[:2] == ("auditpol", "/restore"))
    events = next(i for i, a in enumerate(argvs) if a[0] == "powershell.exe"
                  and "Get-WinEvent" in a[-1])
    assert backup < min(sets) and max(sets) < events < restore and len(sets) == 6
    assert argvs[backup][2] == argvs[restore][2]  # the same saved file
    names = {n.removeprefix("evidence/") for n in read_zip(path)}
    script_names = {cmd.filename for _, cmd in script_tasks(script_context(
        ScriptRequest("ws-ann", "fs01")))}
    assert script_names <= names  # one list: the script's files are collect's files
    assert all(c["undone"] for c in ev.changes)


def test_the_calls_target_address_filters_the_wfp_drops_in_both_runners(
        tmp_path: Path, data_dir: Path) -> None:
    import os

    from wizard.calls.engine import Engine
    from wizard.checks import System
    from wizard.service.desk import Desk
    from wizard.service.evidence import collector_script, plan_packet

    from .helpers.calls import replay, shipped

    answers = next(a for a, s in Engine(shipped()).paths()
                   if s.visit.node_key == "fig7_3.escalate_logon" and a["intake.target_ip"])
    answers |= {"intake.caller_machine": "ws-ann", "intake.target": "fin-app01",
                "intake.target_ip": "10.20.30.40"}
    call, _, _ = replay(answers, data_dir)
    desk = Desk(data_dir, environ=dict(os.environ))
    text = collector_script(desk, call_ref=call.call_id).text
    assert "[Data[@Name=''DestAddress'']=''10.20.30.40''" in text  # in its quoted command
    plan = plan_packet(desk, call_ref=call.call_id, computer=None, target=None,
                       out_dir=tmp_path, redact=False, system=System(platform="win32"))
    assert plan.request.address == "10.20.30.40"
    # another target than the call's: its address is not known, no filter
    other = collector_script(desk, call_ref=call.call_id, target="fs02").text
    assert "DestAddress" not in other
