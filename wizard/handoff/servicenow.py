"""ServiceNow: Table API (``/api/now/table/{table}``) and Attachment API
(``/api/now/attachment``), as documented for the Washington DC to Zurich releases.

The call id is the incident's ``correlation_id``: the incident is looked up by it
before one is created, so a retry finds the first one. An existing ticket (a number
given at intake) gets a work note with the ticket, unless one with the call's marker is
already there, and the attachments. Attachments already on the record (same file name)
are not uploaded again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from wizard.config.handoff import ServiceNowDest
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


def _result(response: httpx.Response, what: str) -> Any:
    body = json_body(response, what)
    if not isinstance(body, dict) or "result" not in body:
        raise HandoffError(f"{what}: unexpected answer (no 'result')", retry=False)
    return body["result"]


def _first(c: httpx.Client, table: str, query: str, what: str) -> dict[str, Any] | None:
    r = check(c.get(f"/api/now/table/{table}", params={
        "sysparm_query": query, "sysparm_limit": "1",
        "sysparm_fields": "sys_id,number"}), what)
    rows = _result(r, what)
    if isinstance(rows, list) and rows and isinstance(rows[0], dict):
        return rows[0]
    return None


def deliver(dest: ServiceNowDest, parcel: Parcel, secret: str | None, *, data_dir: Path
            ) -> Delivery:
    what = f"ServiceNow {dest.url}"
    auth = auth_header(what, dest.user, secret)
    table = dest.table
    earlier = earlier_ticket(dest.kind, parcel, what)
    try:
        with client(dest.url, dest.timeout, {"Authorization": auth}) as c:
            if earlier:
                row = _first(c, table, f"number={earlier}", f"{what}: looking up {earlier}")
                if row is None:
                    raise HandoffError(f"{what}: no {table} {earlier} (the ticket number "
                                       "given at intake)", retry=False)
                sys_id, number = str(row["sys_id"]), str(row.get("number") or "")
                noted = check(c.get("/api/now/table/sys_journal_field", params={
                    "sysparm_query": f"element_id={sys_id}^element=work_notes"
                                     f"^valueLIKE{parcel.marker}",
                    "sysparm_limit": "1", "sysparm_fields": "sys_id"}),
                    f"{what}: reading the work notes")
                if not _result(noted, what):
                    check(c.patch(f"/api/now/table/{table}/{segment(sys_id)}", json={
                        "work_notes": f"{parcel.marker} {parcel.subject}\n\n{parcel.body}"}),
                        f"{what}: adding a work note to {number}")
                action = "updated"
            else:
                row = _first(c, table, f"correlation_id={parcel.call_id}",
                             f"{what}: looking for the call's incident")
                if row is not None:
                    action = "found"
                else:
                    fields: dict[str, Any] = {
                        "short_description": parcel.subject[:160],
                        "description": parcel.body,
                        "correlation_id": parcel.call_id,
                        "correlation_display": "ipsec-triage",
                    }
                    if dest.assignment_group:
                        fields["assignment_group"] = dest.assignment_group
                    fields.update(dest.fields)
                    r = check(c.post(f"/api/now/table/{table}", json=fields),
                              f"{what}: creating the {table}")
                    row = _result(r, what)
                    if not isinstance(row, dict) or not row.get("sys_id"):
                        raise HandoffError(f"{what}: the new {table} has no sys_id",
                                           retry=False)
                    action = "created"
                sys_id, number = str(row["sys_id"]), str(row.get("number") or "")
            have = check(c.get("/api/now/attachment", params={
                "sysparm_query": f"table_name={table}^table_sys_id={sys_id}",
                "sysparm_fields": "file_name"}), f"{what}: listing the attachments")
            present = {str(a.get("file_name")) for a in _result(have, what) or []
                       if isinstance(a, dict)}
            sent: list[str] = []
            for att in parcel.attachments:
                if att.name not in present:
                    check(c.post("/api/now/attachment/file", params={
                        "table_name": table, "table_sys_id": sys_id,
                        "file_name": att.name}, content=att.data,
                        headers={"Content-Type": att.content_type}),
                        f"{what}: attaching {att.name}")
                sent.append(att.name)
    except httpx.HTTPError as exc:
        raise transport_error(exc, what) from None
    url = f"{dest.url}/nav_to.do?uri={table}.do?sys_id={segment(sys_id)}"
    return Delivery(number=number or sys_id, url=url, action=action, attachments=sent)
