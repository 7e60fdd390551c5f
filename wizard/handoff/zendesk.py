"""Zendesk Support: Tickets API v2 with uploads (``/api/v2/uploads``).

The call id is the ticket's ``external_id`` (and the ``Idempotency-Key`` of the create
request): tickets are listed by it before one is created. Files are uploaded first and
their tokens go with the ticket's first comment, or with a private comment on an
existing ticket (the number given at intake) unless a comment with the call's marker is
already there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from wizard.config.handoff import ZendeskDest
from wizard.handoff.base import (
    Delivery,
    HandoffError,
    Parcel,
    auth_header,
    check,
    client,
    earlier_ticket,
    json_body,
    segment,
    transport_error,
)

PRIORITY = {"critical": "urgent", "high": "high", "medium": "normal", "low": "low"}


def _upload(c: httpx.Client, parcel: Parcel, what: str) -> list[str]:
    tokens: list[str] = []
    for att in parcel.attachments:
        r = check(c.post("/api/v2/uploads.json", params={"filename": att.name},
                         content=att.data, headers={"Content-Type": att.content_type}),
                  f"{what}: uploading {att.name}")
        body = json_body(r, what)
        token = (body.get("upload") or {}).get("token") if isinstance(body, dict) else None
        if not token:
            raise HandoffError(f"{what}: the upload of {att.name} gave no token", retry=False)
        tokens.append(str(token))
    return tokens


def deliver(dest: ZendeskDest, parcel: Parcel, secret: str | None, *, data_dir: Path
            ) -> Delivery:
    what = f"Zendesk {dest.url}"
    auth = auth_header(what, f"{dest.user}/token" if dest.user else None, secret)
    names = [a.name for a in parcel.attachments]
    earlier = earlier_ticket(dest.kind, parcel, what)
    try:
        with client(dest.url, dest.timeout, {"Authorization": auth}) as c:
            if earlier:
                number = earlier
                r = c.get(f"/api/v2/tickets/{segment(number)}/comments.json")
                if r.status_code == 404:
                    raise HandoffError(f"{what}: no ticket {number} (the ticket number "
                                       "given at intake)", retry=False, http_status=404)
                body = json_body(check(r, f"{what}: reading ticket {number}"), what)
                comments = body.get("comments", []) if isinstance(body, dict) else []
                if not any(parcel.marker in str(cm.get("body", "")) for cm in comments
                           if isinstance(cm, dict)):
                    tokens = _upload(c, parcel, what)
                    check(c.put(f"/api/v2/tickets/{segment(number)}.json", json={"ticket": {
                        "comment": {"body": f"{parcel.marker} {parcel.subject}\n\n"
                                            f"{parcel.body}",
                                    "public": False, "uploads": tokens}}}),
                          f"{what}: updating ticket {number}")
                action = "updated"
            else:
                r = check(c.get("/api/v2/tickets.json",
                                params={"external_id": parcel.call_id}),
                          f"{what}: looking for the call's ticket")
                body = json_body(r, what)
                found = body.get("tickets") if isinstance(body, dict) else None
                if isinstance(found, list) and found and isinstance(found[0], dict):
                    number, action = str(found[0].get("id")), "found"
                else:
                    tokens = _upload(c, parcel, what)
                    ticket: dict[str, Any] = {
                        "subject": parcel.subject[:250],
                        "comment": {"body": f"{parcel.body}\n\n{parcel.marker}",
                                    "public": False, "uploads": tokens},
                        "external_id": parcel.call_id,
                        "tags": list(dest.tags),
                    }
                    if dest.group_id is not None:
                        ticket["group_id"] = dest.group_id
                    priority = PRIORITY.get(parcel.severity.lower())
                    if priority:
                        ticket["priority"] = priority
                    r = check(c.post("/api/v2/tickets.json", json={"ticket": ticket},
                                     headers={"Idempotency-Key": parcel.call_id}),
                              f"{what}: creating the ticket")
                    created = json_body(r, what)
                    made = created.get("ticket") if isinstance(created, dict) else None
                    if not isinstance(made, dict) or made.get("id") is None:
                        raise HandoffError(f"{what}: the new ticket has no id", retry=False)
                    number, action = str(made["id"]), "created"
    except httpx.HTTPError as exc:
        raise transport_error(exc, what) from None
    return Delivery(number=number, url=f"{dest.url}/agent/tickets/{segment(number)}",
                    action=action, attachments=names)
