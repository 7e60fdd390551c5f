"""Windows-only facts: domain membership and the cached domain IPsec policy's
version against Active Directory."""

from __future__ import annotations

import time
from pathlib import Path

from wizard.checks import windows
from wizard.checks.base import ProbeResult, timed
from wizard.checks.probes.common import ERROR, FAIL, OK, TIMEOUT, UNAVAILABLE, Budget, _first_line
from wizard.checks.system import System


def domain_member(system: System, timeout: float) -> ProbeResult:
    start = time.monotonic()
    budget = Budget(timeout)
    out = system.powershell(windows.DOMAIN_SCRIPT, budget.left())
    if out.not_found or windows.parse_wmic_domain(out.stdout)[0] is None:
        # no PowerShell (Windows XP / Server 2003): wmic's /value names read the same too
        out = system.run(["wmic", "computersystem", "get", "Domain,PartOfDomain", "/value"],
                         budget.left())
    joined, domain = windows.parse_wmic_domain(out.stdout)
    if joined is None:
        return timed("domain_member", start, TIMEOUT if out.timed_out else ERROR,
                     "could not read the domain membership", out.text)
    return timed("domain_member", start, OK if joined else FAIL,
                 f"member of {domain}" if joined else f"not joined (workgroup {domain})",
                 out.text, domain=domain)


def ipsec_policy_version(system: System, timeout: float) -> ProbeResult:
    """Detect_IPsec_Policy.vbs, done with reg and PowerShell: the version of the domain
    IPsec policy cached in the registry against the one in Active Directory."""
    start = time.monotonic()
    budget = Budget(timeout)
    assigned = system.run(["reg", "query", windows.ASSIGNMENT_KEY], budget.left())
    cached = system.run(["reg", "query", windows.CACHE_KEY, "/v", "ipsecName"],
                        budget.left())
    directory = system.powershell(windows.AD_VERSION_SCRIPT, budget.left())
    evidence = "\n".join(f"$ {' '.join(o.argv[:3])} ...\n{o.text}"
                         for o in (assigned, cached, directory))
    if directory.not_found:
        return _detect_script(system, budget, start)
    if any(o.timed_out for o in (assigned, cached, directory)):
        return timed("ipsec_policy_version", start, TIMEOUT,
                     "the policy check gave no result in time", evidence)
    policy = windows.parse_reg_query(assigned.stdout).get("DSIPSECPolicyName", "")
    local = windows.parse_reg_query(cached.stdout).get("ipsecName")
    ad = windows.parse_key_values(directory.stdout).get("ipsecName")
    data = {"policy": policy, "local_version": local or "", "directory_version": ad or ""}
    if directory.returncode != 0 or not ad:
        return timed("ipsec_policy_version", start, ERROR,
                     "could not read the policy version from Active Directory: "
                     f"{_first_line(directory.stderr) or 'no value'}", evidence, **data)
    current = local == ad
    verdict = "IPsec policy is up-to-date." if current else "IPsec policy is not up-to-date."
    detail = (f" (assigned: {policy})" if policy else " (no domain IPsec policy assigned)") \
        if current or local else " (no policy version in the local cache)"
    return timed("ipsec_policy_version", start, OK if current else FAIL, verdict + detail,
                 evidence, **data)


def _detect_script(system: System, budget: Budget, start: float) -> ProbeResult:
    """No PowerShell (Windows XP / Server 2003): the published script, if it is here."""
    script = Path("Detect_IPsec_Policy.vbs")
    if not script.is_file():
        return timed("ipsec_policy_version", start, UNAVAILABLE,
                     "no PowerShell and no Detect_IPsec_Policy.vbs in the current folder: "
                     "ask the caller")
    out = system.run(["cscript", "//nologo", str(script)], budget.left())
    current, name = windows.parse_policy_version(out.stdout)
    if current is None:
        return timed("ipsec_policy_version", start, TIMEOUT if out.timed_out else ERROR,
                     f"the policy check printed no verdict: {_first_line(out.text)}",
                     out.text)
    verdict = "IPsec policy is up-to-date." if current else "IPsec policy is not up-to-date."
    return timed("ipsec_policy_version", start, OK if current else FAIL,
                 verdict + (f" (assigned: {name})" if name else ""), out.text, policy=name)

