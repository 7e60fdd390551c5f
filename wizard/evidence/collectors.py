"""The collectors: the IPsec_Debug.vbs file set of Table 7.3 on Windows, and the
equivalent evidence on Linux."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from wizard.evidence.base import Change, Collector, Command, Context, Copy, Task, Text

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


COLLECTORS: tuple[Collector, ...] = (
    Collector("os_info", "Operating system information (OSInfo)", ALL, _os_info),
    Collector("file_versions", "Versions of the IPsec-related DLLs (FileVer)", WIN,
              _file_versions),
    Collector("policy", "gpresult, policy version, netsh show all / gpo, netdiag", WIN,
              _policy, _windows_changes),
    Collector("events", "IPsec 547, Kerberos and 4292 events", WIN, _events),
    Collector("log_copies", "Copies of oakley.log, userenv.log, winlogon.log, lsass.log", WIN,
              _log_copies),
    Collector("reachability", "ping and net view against the destination computer", ALL,
              _reachability),
    Collector("linux_network", "Addresses, routes, resolver configuration, hosts file",
              LINUX, _linux_network),
    Collector("linux_ipsec", "ip xfrm state/policy, strongSwan/libreswan status, journal",
              LINUX, _linux_ipsec),
)
