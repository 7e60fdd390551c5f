"""A generic JSON webhook: one POST per hand-off.

Body (``application/json``)::

    {"event": "ipsec-triage.escalation", "version": 1, "call_id": ..., "group": ...,
     "subject": ..., "ticket": <plain-text ticket>, "existing_ticket": <number or null>,
     "severity": ..., "redacted": <bool>,
     "attachments": [{"name", "content_type", "size", "sha256", "data_base64"}]}

Headers: ``Idempotency-Key`` and ``X-Correlation-ID`` carry the call id (the receiver
drops a repeat), ``Authorization: Bearer <secret>`` when a secret is named. A 2xx answer
may carry JSON ``{"number": ..., "url": ...}`` (``id``/``key`` are read as the number too).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import httpx

from wizard.config.handoff import WebhookDest
from wizard.handoff.base import Delivery, Parcel, bearer, check, client, transport_error


def payload(parcel: Parcel) -> dict[str, Any]:
    return {
        "event": "ipsec-triage.escalation", "version": 1, "call_id": parcel.call_id,
        "group": parcel.group, "subject": parcel.subject, "ticket": parcel.body,
        "existing_ticket": parcel.existing_ticket, "severity": parcel.severity,
        "redacted": parcel.redacted,
        "attachments": [{"name": a.name, "content_type": a.content_type, "size": len(a.data),
                         "sha256": hashlib.sha256(a.data).hexdigest(),
                         "data_base64": base64.b64encode(a.data).decode("ascii")}
                        for a in parcel.attachments],
    }


def deliver(dest: WebhookDest, parcel: Parcel, secret: str | None, *, data_dir: Path
            ) -> Delivery:
    headers = {"Idempotency-Key": parcel.call_id, "X-Correlation-ID": parcel.call_id,
               **dest.headers}
    if secret:
        headers["Authorization"] = bearer(secret)
    what = f"webhook {dest.url}"
    try:
        with client(dest.url, dest.timeout, {}) as c:
            r = check(c.post(dest.url, json=payload(parcel), headers=headers), what)
    except httpx.HTTPError as exc:
        raise transport_error(exc, what) from None
    number = url = None
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        raw = body.get("number") or body.get("key") or body.get("id")
        number = str(raw) if raw is not None else None
        url = str(body["url"]) if body.get("url") else None
    action = "updated" if parcel.existing_ticket else ("created" if number else "sent")
    return Delivery(number=number, url=url, action=action,
                    attachments=[a.name for a in parcel.attachments])
