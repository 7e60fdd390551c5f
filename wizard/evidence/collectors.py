"""The collectors: the IPsec_Debug.vbs file set of Table 7.3 on Windows, and the
equivalent evidence on Linux."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from wizard.evidence.base import (
    Change,
    Collector,
    Command,
    Context,
    Copy,
    Task,
    Text,
    powershell,
    ps_quote,
)

WIN = ("win32",)
LINUX = ("linux",)
ALL = ("win32", "linux", "darwin")

KERBEROS_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa\Kerberos\Parameters"
WINLOGON_KEY = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"
IPSEC_FILES = ("ipsec.sys", "oakley.dll", "polstore.dll", "ipsecsvc.dll", "winipsec.dll",
               "ipsecsnp.dll", "kerberos.dll")


def _windir() -> Path:
    return Path(os.environ.get("SYSTEMROOT", r"C:\Windows"))


def _os_info(ctx: Context) -> Sequence[Task]:
    collected_on = f"collected on: {ctx.hostname}\n" if ctx.hostname else ""
    if ctx.platform == "win32":
        return [Command(f"{ctx.comp}_OSInfo.txt", ("systeminfo",), 60, header=collected_on)]
    return [Text(f"{ctx.comp}_OSInfo.txt", lambda: collected_on + "\n".join([
        f"system: {platform.system()} {platform.release()}",
        f"version: {platform.version()}", f"machine: {platform.machine()}",
        f"python: {sys.version.split()[0]}",
    ]) + "\n"), Copy(f"{ctx.comp}_os-release.txt", Path("/etc/os-release"))]


def _file_versions(ctx: Context) -> Sequence[Task]:
    sys32 = _windir() / "System32"

    def versions() -> str:
        parts = []
        for name in IPSEC_FILES:
            path = str(sys32 / name).replace("\\", "\\\\")
            argv = ("wmic", "datafile", "where", f"name='{path}'", "get", "Name,Version",
                    "/value")
            out = ctx.system.run(argv, ctx.timeout)
            parts.append(f"$ {' '.join(argv)}\n{out.text}\n")
        return "\n".join(parts)

    return [Text(f"{ctx.comp}_FileVer.txt", versions)]


def _policy(ctx: Context) -> Sequence[Task]:
    tasks: list[Task] = [
        Command(f"{ctx.comp}_gpresult.txt", ("gpresult", "/z"), 120),
        Command(f"{ctx.comp}_ipsec_policy_version.txt",
                ("cscript", "//nologo", "Detect_IPsec_Policy.vbs")),
        Command(f"{ctx.comp}_netsh_show_all.txt", ("netsh", "ipsec", "static", "show", "all")),
        Command(f"{ctx.comp}_netsh_show_gpo.txt",
                ("netsh", "ipsec", "static", "show", "gpoassignedpolicy")),
        Command(f"{ctx.comp}_netsh_dynamic_config.txt",
                ("netsh", "ipsec", "dynamic", "show", "config")),
        Command(f"{ctx.comp}_netdiag.txt", ("netdiag", "/v"), 180),
        Command(f"{ctx.comp}_ipseccmd_show_all.txt", ("ipseccmd", "show", "all")),
    ]
    return tasks


def _events(ctx: Context) -> Sequence[Task]:
    return [
        Command(f"{ctx.comp}_ipsec_547_events.txt",
                ("wevtutil", "qe", "Security", "/q:*[System[(EventID=547)]]", "/c:50",
                 "/rd:true", "/f:text"), 60),
        Command(f"{ctx.comp}_kerberos_events.txt",
                ("wevtutil", "qe", "System", "/q:*[System[Provider[@Name='Kerberos']]]",
                 "/c:50", "/rd:true", "/f:text"), 60),
        Command(f"{ctx.comp}_ipsec_4292_events.txt",
                ("wevtutil", "qe", "System", "/q:*[System[(EventID=4292)]]", "/c:20",
                 "/rd:true", "/f:text"), 60),
    ]


def _log_copies(ctx: Context) -> Sequence[Task]:
    debug = _windir() / "debug"
    return [
        Copy(f"{ctx.comp}_oakley.log", debug / "oakley.log"),
        Copy(f"{ctx.comp}_userenv.log", debug / "usermode" / "userenv.log"),
        Copy(f"{ctx.comp}_winlogon.log", _windir() / "security" / "logs" / "winlogon.log"),
        Copy(f"{ctx.comp}_lsass.log", debug / "lsass.log"),
    ]


def _windows_changes(ctx: Context) -> Sequence[Change]:
    return [
        Change("Raise Kerberos logging (LogLevel = 1)",
               ("reg", "add", KERBEROS_KEY, "/v", "LogLevel", "/t", "REG_DWORD", "/d", "1",
                "/f"),
               ("reg", "delete", KERBEROS_KEY, "/v", "LogLevel", "/f"),
               f'reg delete "{KERBEROS_KEY}" /v LogLevel /f (or put back the value '
               "saved in RegDefault)",
               ("reg", "query", KERBEROS_KEY, "/v", "LogLevel")),
        Change("Raise Group Policy logging (UserEnvDebugLevel = 0x30002)",
               ("reg", "add", WINLOGON_KEY, "/v", "UserEnvDebugLevel", "/t", "REG_DWORD",
                "/d", "196610", "/f"),
               ("reg", "delete", WINLOGON_KEY, "/v", "UserEnvDebugLevel", "/f"),
               f'reg delete "{WINLOGON_KEY}" /v UserEnvDebugLevel /f (or put back the value '
               "saved in RegDefault)",
               ("reg", "query", WINLOGON_KEY, "/v", "UserEnvDebugLevel")),
        Change("Purge the computer's Kerberos tickets (as IPsec_Debug.vbs does)",
               ("klist", "-li", "0x3e7", "purge"), (),
               "nothing to undo: Windows gets new tickets at the next connection",
               output=f"{ctx.comp}_klist_purge_mt.txt"),
        Change("Turn on IKE logging (Oakley.log)",
               ("netsh", "ipsec", "dynamic", "set", "config", "ikelogging", "1"),
               ("netsh", "ipsec", "dynamic", "set", "config", "ikelogging", "0"),
               "netsh ipsec dynamic set config ikelogging 0"),
    ]


def _reachability(ctx: Context) -> Sequence[Task]:
    if not ctx.target:
        return []
    ping = (("ping", "-n", "4", ctx.target) if ctx.platform == "win32"
            else ("ping", "-c", "4", "-W", "2", "--", ctx.target))
    tasks: list[Task] = [Command(f"{ctx.comp}_{ctx.target}_ping.txt", ping, 30)]
    if ctx.platform == "win32":
        tasks.append(Command(f"{ctx.comp}_{ctx.target}_netview.txt",
                             ("net", "view", f"\\\\{ctx.target}"), 60))
    return tasks


def _linux_network(ctx: Context) -> Sequence[Task]:
    return [
        Command(f"{ctx.comp}_ip_addr.txt", ("ip", "address", "show")),
        Command(f"{ctx.comp}_ip_route.txt", ("ip", "route", "show", "table", "all")),
        Copy(f"{ctx.comp}_resolv.conf.txt", Path("/etc/resolv.conf")),
        Copy(f"{ctx.comp}_hosts.txt", Path("/etc/hosts")),
    ]


def _linux_ipsec(ctx: Context) -> Sequence[Task]:
    return [
        Command(f"{ctx.comp}_xfrm_state.txt", ("ip", "xfrm", "state")),
        Command(f"{ctx.comp}_xfrm_policy.txt", ("ip", "xfrm", "policy")),
        Command(f"{ctx.comp}_swanctl_sas.txt", ("swanctl", "--list-sas")),
        Command(f"{ctx.comp}_ipsec_status.txt", ("ipsec", "statusall")),
        Command(f"{ctx.comp}_journal_ipsec.txt",
                ("journalctl", "--no-pager", "-q", "--since", "-2h", "-u", "strongswan",
                 "-u", "strongswan-starter", "-u", "ipsec", "-u", "charon-systemd")),
    ]


# -- Windows 10/11 and Server 2016 and later (also the collector script's list) -------------

AUDIT_SUBCATEGORIES = (
    # GUIDs, not the localized names (Microsoft, "WFP auditing and logging" and
    # [MS-GPAC] 2.2.1.2): the same on a German or French Windows
    ("IPsec Main Mode", "{0CCE9218-69AE-11D9-BED3-505054503030}"),
    ("IPsec Quick Mode", "{0CCE9219-69AE-11D9-BED3-505054503030}"),
    ("IPsec Extended Mode", "{0CCE921A-69AE-11D9-BED3-505054503030}"),
    ("IPsec Driver", "{0CCE9213-69AE-11D9-BED3-505054503030}"),
    ("Filtering Platform Packet Drop", "{0CCE9225-69AE-11D9-BED3-505054503030}"),
    ("Filtering Platform Connection", "{0CCE9226-69AE-11D9-BED3-505054503030}"),
)
IPSEC_SERVICES = ("BFE", "IKEEXT", "MpsSvc", "PolicyAgent")
EVENT_SETS = (
    # file suffix, log, event ids (each set stays far below Get-WinEvent's limit of ids)
    ("events_mainmode", "Security", (4650, 4651, 4652, 4653, 4655)),
    ("events_quickmode", "Security", (4654, 5451, 5452, 5453)),
    ("events_extmode", "Security", (4976, 4977, 4978, 4979, 4980, 4981, 4982, 4983, 4984)),
    ("events_driver", "Security", (4960, 4961, 4962, 4963, 4965)),
    ("events_policyagent", "Security", (5461, 5462, 5478, 5479, 5480, 5483, 5484, 5485)),
)
MAX_EVENTS = 2000


def _select(*props: str) -> str:
    """``Select-Object`` of properties (plain names, or a calculated ``@{...}`` one)."""
    return "Select-Object -Property @(" + ", ".join(
        p if p.startswith("@{") else ps_quote(p) for p in props) + ")"


def _events_code(log: str, xpath: str, limit: int = MAX_EVENTS) -> str:
    """Events as Get-WinEvent prints them with ``ToXml()``: one ``<Event>`` element in
    Microsoft's event schema after another (what :mod:`wizard.evidence.analysis` reads);
    no matching event is an empty file, not an error."""
    return (f"Get-WinEvent -LogName {ps_quote(log)} -FilterXPath {ps_quote(xpath)} "
            f"-MaxEvents {limit} -ErrorAction SilentlyContinue | "
            "ForEach-Object { $_.ToXml() }")


def _ids_xpath(ids: tuple[int, ...], extra: str = "") -> str:
    return ("*[System[(" + " or ".join(f"EventID={i}" for i in ids) + ")]]" + extra)


def _audit_changes(ctx: Context) -> Sequence[Change]:
    backup = (ctx.workdir or tempfile.gettempdir()) + "\\auditpol-backup.csv"
    changes = [Change("Save the audit policy (restored at the end)",
                      ("auditpol", "/backup", "/file:" + backup),
                      ("auditpol", "/restore", "/file:" + backup),
                      "auditpol /restore /file:<the saved copy>, or set the subcategories "
                      "below back to No Auditing")]
    for name, guid in AUDIT_SUBCATEGORIES:
        changes.append(Change(f"Audit {name} (success and failure)",
                              ("auditpol", "/set", f"/subcategory:{guid}",
                               "/success:enable", "/failure:enable"), (),
                              "undone by restoring the saved audit policy"))
    return changes


def _modern_ipsec(ctx: Context) -> Sequence[Task]:
    c = ctx.comp
    return [
        powershell(f"{c}_mmsa.json", "Get-NetIPsecMainModeSA -ErrorAction SilentlyContinue"
                                     " | ConvertTo-Json -Depth 3"),
        powershell(f"{c}_qmsa.json", "Get-NetIPsecQuickModeSA -ErrorAction SilentlyContinue"
                                     " | ConvertTo-Json -Depth 3"),
        Command(f"{c}_netsh_mmsa.txt", ("netsh", "advfirewall", "monitor", "show", "mmsa")),
        Command(f"{c}_netsh_qmsa.txt", ("netsh", "advfirewall", "monitor", "show", "qmsa")),
        powershell(f"{c}_ipsec_rules.json",
                   "Get-NetIPsecRule -PolicyStore ActiveStore | " + _select(
                       "DisplayName", "Enabled", "Mode", "InboundSecurity", "OutboundSecurity",
                       "Phase1AuthSet", "Phase2AuthSet", "Profile", "PolicyStoreSource")
                   + " | ConvertTo-Json -Depth 2"),
        powershell(f"{c}_firewall_profiles.json",
                   "Get-NetFirewallProfile -PolicyStore ActiveStore | " + _select(
                       "Name", "Enabled", "DefaultInboundAction", "DefaultOutboundAction")
                   + " | ConvertTo-Json"),
        Command(f"{c}_wfp_state.xml", ("netsh", "wfp", "show", "state", "file=-"), 120),
        Command(f"{c}_wfp_netevents.xml", ("netsh", "wfp", "show", "netevents", "file=-"), 120),
        Command(f"{c}_wfp_boottimepolicy.xml",
                ("netsh", "wfp", "show", "boottimepolicy", "file=-"), 60),
        Command(f"{c}_auditpol.csv", ("auditpol", "/get", "/category:*", "/r")),
    ]


def _modern_events(ctx: Context) -> Sequence[Task]:
    c = ctx.comp
    tasks: list[Task] = [powershell(f"{c}_{name}.xml", _events_code(log, _ids_xpath(ids)), 120)
                         for name, log, ids in EVENT_SETS]
    extra = ""
    if ctx.address:
        a = ctx.address
        extra = (f" and *[EventData[Data[@Name='DestAddress']='{a}' or "
                 f"Data[@Name='SourceAddress']='{a}']]")
    tasks.append(powershell(f"{c}_events_wfp_drops.xml",
                            _events_code("Security", _ids_xpath((5152, 5157), extra), 500), 120))
    services = " or ".join(f"Data='{s}'" for s in IPSEC_SERVICES)
    tasks.append(powershell(f"{c}_events_services.xml", _events_code(
        "System", _ids_xpath((7023, 7024), f" and *[EventData[{services}]]"), 200), 60))
    return tasks


def _modern_identity(ctx: Context) -> Sequence[Task]:
    c = ctx.comp
    return [
        powershell(f"{c}_gpresult.xml",
                   "$f = Join-Path $env:TEMP ('ipsec-gpresult-' + [guid]::NewGuid() + '.xml'); "
                   "gpresult /x $f /f | Out-Null; "
                   "if (Test-Path $f) { Get-Content -Raw -Encoding UTF8 $f; Remove-Item $f }", 180),
        Command(f"{c}_klist.txt", ("klist",)),
        Command(f"{c}_klist_computer.txt", ("klist", "-li", "0x3e7")),
        Command(f"{c}_dsregcmd.txt", ("dsregcmd", "/status")),
        powershell(f"{c}_nltest_sc_verify.txt",
                   "$d = (Get-CimInstance Win32_ComputerSystem).Domain; "
                   "nltest ('/sc_verify:' + $d); 'exit code: ' + $LASTEXITCODE"),
    ]


def _modern_system(ctx: Context) -> Sequence[Task]:
    c = ctx.comp
    services = ", ".join(ps_quote(s) for s in IPSEC_SERVICES)
    tasks: list[Task] = [
        powershell(f"{c}_windows.json",
                   "Get-CimInstance Win32_OperatingSystem | " + _select(
                       "Caption", "Version", "BuildNumber", "OSArchitecture", "MUILanguages",
                       "LastBootUpTime") + " | ConvertTo-Json"),
        powershell(f"{c}_services.json",
                   f"Get-Service -Name @({services}) -ErrorAction SilentlyContinue | " + _select(
                       "Name", "@{n='Status';e={[string]$_.Status}}",
                       "@{n='StartType';e={[string]$_.StartType}}") + " | ConvertTo-Json"),
        powershell(f"{c}_ipconfig.json",
                   "Get-NetIPConfiguration | " + _select(
                       "InterfaceAlias", "InterfaceIndex",
                       "@{n='IPv4Address';e={@($_.IPv4Address.IPAddress)}}",
                       "@{n='IPv6Address';e={@($_.IPv6Address.IPAddress)}}",
                       "@{n='IPv4DefaultGateway';e={@($_.IPv4DefaultGateway.NextHop)}}",
                       "@{n='DNSServer';e={@($_.DNSServer.ServerAddresses)}}")
                   + " | ConvertTo-Json -Depth 3"),
    ]
    if ctx.target:
        for port in ctx.ports:
            tasks.append(powershell(
                f"{c}_{ctx.target}_port{port}.json",
                f"Test-NetConnection -ComputerName {ps_quote(ctx.target)} -Port {int(port)} "
                "-WarningAction SilentlyContinue | " + _select(
                    "ComputerName", "@{n='RemoteAddress';e={[string]$_.RemoteAddress}}",
                    "RemotePort", "TcpTestSucceeded", "PingSucceeded") + " | ConvertTo-Json",
                90))
    return tasks


COLLECTORS: tuple[Collector, ...] = (
    Collector("os_info", "Operating system information (OSInfo)", ALL, _os_info, script=True),
    Collector("file_versions", "Versions of the IPsec-related DLLs (FileVer)", WIN,
              _file_versions),
    Collector("policy", "gpresult, policy version, netsh show all / gpo, netdiag", WIN,
              _policy, _windows_changes),
    Collector("events", "IPsec 547, Kerberos and 4292 events", WIN, _events),
    Collector("log_copies", "Copies of oakley.log, userenv.log, winlogon.log, lsass.log", WIN,
              _log_copies),
    Collector("reachability", "ping and net view against the destination computer", ALL,
              _reachability, script=True),
    Collector("ipsec_state", "Main and quick mode SAs, connection security rules, firewall "
              "profiles, WFP state, net events and boot-time policy, audit policy", WIN,
              _modern_ipsec, _audit_changes, script=True),
    Collector("ipsec_events", "IPsec main/quick/extended mode, driver and IPsec service "
              "events, WFP drops for the target, BFE/IKEEXT/MpsSvc/PolicyAgent failures", WIN,
              _modern_events, script=True),
    Collector("identity", "gpresult /x, Kerberos tickets, dsregcmd /status, nltest "
              "/sc_verify", WIN, _modern_identity, script=True),
    Collector("windows_system", "Windows version and build, IPsec service states, IP "
              "configuration, Test-NetConnection to the target", WIN, _modern_system,
              script=True),
    Collector("linux_network", "Addresses, routes, resolver configuration, hosts file",
              LINUX, _linux_network),
    Collector("linux_ipsec", "ip xfrm state/policy, strongSwan/libreswan status, journal",
              LINUX, _linux_ipsec),
)
