"""E-mail hand-off (standard library): SMTP with STARTTLS or TLS and login, or an .eml
file to send by hand when no server is set. The ticket is the body; the tickets and the
packet are attachments. The Message-ID is derived from the call id, so a mail system
that removes duplicates sees a retry as the same message."""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from wizard.base.privacy import private_dir
from wizard.calls.journal import atomic_write
from wizard.config.handoff import EmailDest
from wizard.handoff.base import Delivery, HandoffError, Parcel


class _Watched(smtplib.SMTP):
    """An SMTP client that knows whether the message itself went out: after the
    server's 354 to DATA, the server may deliver it even if its final answer never
    comes (a timeout, a dropped connection); before that, nothing was delivered."""

    message_sent = False
    _data_stage = 0  # 1: the DATA command is next; 2: the message is next

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._data_stage = 1
        try:
            return super().data(msg)
        finally:
            self._data_stage = 0

    def send(self, s: Any) -> None:
        if self._data_stage == 1:
            self._data_stage = 2
        elif self._data_stage == 2:
            self.message_sent = True
        super().send(s)


class _WatchedSSL(_Watched, smtplib.SMTP_SSL):
    """The same over TLS from the start (port 465)."""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "group"


def message_id(parcel: Parcel) -> str:
    return f"<{parcel.call_id}.{slug(parcel.group)}@ipsec-triage.invalid>"


def build_message(dest: EmailDest, parcel: Parcel) -> EmailMessage:
    msg = EmailMessage()
    subject = parcel.subject
    if parcel.existing_ticket:
        subject = f"[{parcel.existing_ticket}] {subject}"
    msg["Subject"] = subject
    msg["From"] = dest.sender
    msg["To"] = ", ".join(dest.to)
    if dest.cc:
        msg["Cc"] = ", ".join(dest.cc)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id(parcel)
    msg["X-Correlation-ID"] = parcel.call_id
    if parcel.existing_ticket:
        msg["X-Ticket-Number"] = parcel.existing_ticket
    body = parcel.body
    if parcel.existing_ticket:
        body = (f"Update for ticket {parcel.existing_ticket} {parcel.marker}\n\n" + body)
    msg.set_content(body)
    for att in parcel.attachments:
        main, _, sub = att.content_type.split(";")[0].partition("/")
        msg.add_attachment(att.data, maintype=main, subtype=sub, filename=att.name)
    return msg


def deliver(dest: EmailDest, parcel: Parcel, secret: str | None, *, data_dir: Path
            ) -> Delivery:
    msg = build_message(dest, parcel)
    names = [a.name for a in parcel.attachments]
    if not dest.smtp_host:
        folder = Path(dest.eml_dir).expanduser() if dest.eml_dir else data_dir / "handoff"
        path = folder / f"{parcel.call_id}-{slug(parcel.group)}.eml"
        private_dir(folder)  # the ticket and the packet: personal data
        atomic_write(path, msg.as_string())
        return Delivery(number=None, url=None, action="written", attachments=names,
                        file=str(path))
    where = f"SMTP {dest.smtp_host}:{dest.port()}"
    try:
        context = ssl.create_default_context(cafile=dest.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise HandoffError(f"{dest.ca_file}: cannot read the CA file: {exc}",
                           retry=False) from None
    smtp: _Watched | None = None
    try:
        if dest.security == "ssl":
            smtp = _WatchedSSL(dest.smtp_host, dest.port(), timeout=dest.timeout,
                               context=context)
        else:
            smtp = _Watched(dest.smtp_host, dest.port(), timeout=dest.timeout)
        try:
            smtp.ehlo()
            if dest.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if dest.user:
                if secret is None:
                    raise HandoffError(f"{where}: 'user' is set but no 'secret'",
                                       retry=False)
                smtp.login(dest.user, secret)
            smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            if smtp.message_sent and not isinstance(exc, smtplib.SMTPResponseException):
                # the server has the message and said nothing (yet): it may deliver it
                why = str(exc) or "no answer in time"
                raise HandoffError(f"{where}: {why} after the message was sent",
                                   retry=True, unknown=True) from None
            raise
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()  # accepted: a QUIT that fails changes nothing
    except smtplib.SMTPNotSupportedError as exc:
        raise HandoffError(f"{where}: the server does not offer it: {exc}",
                           retry=False) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise HandoffError(f"{where}: login refused ({exc.smtp_code}); check the user and "
                           "the secret", retry=False, http_status=exc.smtp_code) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(exc.recipients)
        raise HandoffError(f"{where}: recipients refused: {refused}", retry=False) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        raise HandoffError(f"{where}: {exc.smtp_code} {text}", retry=400 <= exc.smtp_code < 500,
                           http_status=exc.smtp_code) from None
    except ssl.SSLError as exc:
        raise HandoffError(f"{where}: TLS failed: {exc.reason or exc}", retry=False) from None
    except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
        raise HandoffError(f"{where}: {exc or 'no answer in time'}", retry=True) from None
    except smtplib.SMTPException as exc:
        raise HandoffError(f"{where}: {exc}", retry=True) from None
    except OSError as exc:
        raise HandoffError(f"{where}: cannot connect ({exc.strerror or exc})",
                           retry=True) from None
    finally:
        if smtp is not None:
            smtp.close()
    return Delivery(number=None, url=None, action="sent", attachments=names,
                    file=None)
