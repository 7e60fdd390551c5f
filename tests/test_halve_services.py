"""Where the halving service list comes from: a pasted list, or this computer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from wizard.calls.journal import JournalError
from wizard.checks import RunOutput, System
from wizard.halving.session import parse_service_list, services_from_system

SYSTEMCTL = """\
cron.service                loaded active running Regular background program processing daemon
dbus.service                loaded active running D-Bus System Message Bus
strongswan-starter.service  loaded active running strongSwan IPsec IKEv1/IKEv2 daemon
ssh.service                 loaded active running OpenBSD Secure Shell server
"""


class Systemctl(System):
    def __init__(self, out: RunOutput) -> None:
        super().__init__(platform="linux")
        self.out = out
        self.argv: tuple[str, ...] = ()

    def run(self, argv: Sequence[str], timeout: float) -> RunOutput:
        self.argv = tuple(argv)
        return self.out


def test_pasted_list_with_comments_and_sc_prefixes() -> None:
    text = "# from msconfig\nAlerter\n\nSERVICE_NAME: PolicyAgent\nAlerter\n  DNS Server  \n"
    assert parse_service_list(text) == ["Alerter", "PolicyAgent", "DNS Server"]


def test_running_systemd_services() -> None:
    system = Systemctl(RunOutput(("systemctl",), 0, SYSTEMCTL, ""))
    assert services_from_system(system) == ["cron", "dbus", "strongswan-starter", "ssh"]
    assert system.argv[:2] == ("systemctl", "list-units")


def test_no_systemctl_says_what_to_do_instead() -> None:
    system = Systemctl(RunOutput(("systemctl",), None, "", "", not_found=True))
    with pytest.raises(JournalError, match="give --services FILE"):
        services_from_system(system)
