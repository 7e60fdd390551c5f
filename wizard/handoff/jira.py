"""Jira: REST API v2 (Jira Server and Data Center 8/9/10, and Cloud) or v3 (Cloud, with
descriptions and comments in the Atlassian Document Format).

The call id is a label (``ipsec-triage-<call id>``): the issue is searched for by JQL
before one is created (v2 ``/search``, or ``/search/jql`` where Jira Cloud answers
410 Gone for it; v3 ``/search/jql``). An existing issue (the key
given at intake) gets a comment with the ticket, unless a comment with the call's
marker is already there. Attachments go to ``/issue/{key}/attachments`` as multipart
``file`` with ``X-Atlassian-Token: no-check``; file names already attached are skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from wizard.config.handoff import JiraDest
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


def label(call_id: str) -> str:
    return f"ipsec-triage-{call_id}"


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document (one code block keeps the
    ticket's layout)."""
    return {"type": "doc", "version": 1,
            "content": [{"type": "codeBlock", "content": [{"type": "text",
                                                          "text": text or " "}]}]}


def _text(dest: JiraDest, text: str) -> Any:
    return adf(text) if dest.api_version == 3 else text


def _find(c: httpx.Client, dest: JiraDest, call_id: str, what: str) -> str | None:
    api = f"/rest/api/{dest.api_version}"
    path = f"{api}/search/jql" if dest.api_version == 3 else f"{api}/search"
    jql = f'labels = "{label(call_id)}"'
    params = {"jql": jql, "fields": "key", "maxResults": "1"}
    r = c.get(path, params=params)
    if r.status_code == 410 and dest.api_version == 2:
        # Jira Cloud has removed v2 /search (410 Gone): its replacement is /search/jql
        r = c.get(f"{api}/search/jql", params=params)
    check(r, f"{what}: searching for the call's issue")
    body = json_body(r, what)
    issues = body.get("issues") if isinstance(body, dict) else None
    if isinstance(issues, list) and issues and isinstance(issues[0], dict):
        return str(issues[0].get("key") or issues[0].get("id"))
    return None


def deliver(dest: JiraDest, parcel: Parcel, secret: str | None, *, data_dir: Path
            ) -> Delivery:
    what = f"Jira {dest.url}"
    auth = auth_header(what, dest.user, secret)
    api = f"/rest/api/{dest.api_version}"
    earlier = earlier_ticket(dest.kind, parcel, what)
    try:
        with client(dest.url, dest.timeout, {"Authorization": auth}) as c:
            if earlier:
                key = earlier
                r = c.get(f"{api}/issue/{segment(key)}/comment")
                if r.status_code == 404:
                    raise HandoffError(f"{what}: no issue {key} (the ticket number given "
                                       "at intake)", retry=False, http_status=404)
                body = json_body(check(r, f"{what}: reading the comments of {key}"), what)
                comments = body.get("comments", []) if isinstance(body, dict) else []
                if not any(parcel.marker in json.dumps(cm.get("body"), ensure_ascii=False)
                           for cm in comments if isinstance(cm, dict)):
                    text = f"{parcel.marker} {parcel.subject}\n\n{parcel.body}"
                    check(c.post(f"{api}/issue/{segment(key)}/comment",
                                 json={"body": _text(dest, text)}),
                          f"{what}: commenting on {key}")
                action = "updated"
            else:
                found = _find(c, dest, parcel.call_id, what)
                if found:
                    key, action = found, "found"
                else:
                    fields: dict[str, Any] = {
                        "project": {"key": dest.project},
                        "summary": parcel.subject[:250],
                        "description": _text(dest, parcel.body),
                        "issuetype": {"name": dest.issue_type},
                        "labels": [label(parcel.call_id), *dest.labels],
                    }
                    r = check(c.post(f"{api}/issue", json={"fields": fields}),
                              f"{what}: creating the issue in {dest.project}")
                    created = json_body(r, what)
                    if not isinstance(created, dict) or not created.get("key"):
                        raise HandoffError(f"{what}: the new issue has no key", retry=False)
                    key, action = str(created["key"]), "created"
            r = check(c.get(f"{api}/issue/{segment(key)}", params={"fields": "attachment"}),
                      f"{what}: listing the attachments of {key}")
            issue = json_body(r, what)
            present = {str(a.get("filename")) for a in
                       ((issue.get("fields") or {}).get("attachment") or [])
                       if isinstance(a, dict)} if isinstance(issue, dict) else set()
            sent: list[str] = []
            for att in parcel.attachments:
                if att.name not in present:
                    check(c.post(f"{api}/issue/{segment(key)}/attachments",
                                 files={"file": (att.name, att.data, att.content_type)},
                                 headers={"X-Atlassian-Token": "no-check"}),
                          f"{what}: attaching {att.name} to {key}")
                sent.append(att.name)
    except httpx.HTTPError as exc:
        raise transport_error(exc, what) from None
    return Delivery(number=key, url=f"{dest.url}/browse/{segment(key)}", action=action,
                    attachments=sent)
