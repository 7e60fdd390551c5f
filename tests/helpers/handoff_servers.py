"""Ticket systems on loopback, for the hand-off tests.

Each one implements the endpoints the wizard uses with the request and answer shapes
of the vendor's API reference: paths, query parameters, status codes (201 on create,
404 for an unknown record, 401 without valid credentials), error bodies (ServiceNow
``{"error": {"message", "detail"}, "status": "failure"}``, Jira ``{"errorMessages",
"errors"}``, Zendesk ``{"error", "description"}``), attachment uploads (ServiceNow raw
body with ``file_name``; Jira multipart ``file`` with ``X-Atlassian-Token: no-check``;
Zendesk ``/uploads.json`` tokens), and the auth headers (Basic, Bearer, Zendesk's
``email/token``).

Failures are planned per request: a status with a body and headers (401, 429 with
Retry-After, 500), a delay longer than the client's timeout, or "done then failed" (the
request is carried out but the answer says 500, or comes too late) to prove that a
retry never makes a second ticket.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]


@dataclass
class Planned:
    method: str
    path: str
    """Regular expression matched against the path."""
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after: bool = False
    """Carry the request out first, then answer with the failure (a lost answer)."""
    times: int = 1


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class Fake:
    """A vendor API: subclasses route requests in ``route``."""

    def __init__(self, auth: str) -> None:
        self.auth = auth
        """The exact Authorization header value accepted."""
        self.plans: list[Planned] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()

    def plan(self, method: str, path: str, **kw: Any) -> None:
        self.plans.append(Planned(method, path, **kw))

    def unauthorized(self) -> Answer:
        raise NotImplementedError

    def route(self, req: Request) -> Answer:
        raise NotImplementedError

    def handle(self, req: Request) -> Answer:
        with self.lock:
            self.requests.append(req)
            plan = next((p for p in self.plans if p.method == req.method
                         and re.search(p.path, req.path) and p.times > 0), None)
            if plan is not None:
                plan.times -= 1
        if plan is not None and not plan.after:
            time.sleep(plan.delay)
            if plan.status:
                return plan.status, plan.headers, plan.body
        if req.headers.get("authorization") != self.auth:
            return self.unauthorized()
        with self.lock:
            answer = self.route(req)
        if plan is not None:
            time.sleep(plan.delay)
            if plan.status:
                return plan.status, plan.headers, plan.body
        return answer


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _do(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            req = Request(self.command, parts.path, query,
                          {k.lower(): v for k, v in self.headers.items()}, body)
            status, headers, payload = fake.handle(req)
            if isinstance(payload, bytes | str):
                data = payload.encode() if isinstance(payload, str) else payload
                ctype = "text/plain; charset=utf-8"
            else:
                data = b"" if payload is None else json.dumps(payload).encode()
                ctype = "application/json;charset=UTF-8"
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _do  # noqa: N815

    return Handler


@contextmanager
def serve(fake: Fake, port: int = 0) -> Iterator[str]:
    """Run ``fake`` on 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def multipart_files(req: Request) -> list[tuple[str, str, str, bytes]]:
    """(field name, file name, content type, data) of a multipart/form-data body."""
    head = f"Content-Type: {req.headers.get('content-type', '')}\r\n\r\n".encode()
    msg = BytesParser(policy=HTTP).parsebytes(head + req.body)
    out = []
    if not msg.is_multipart():
        return out
    for part in msg.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition") or ""
        payload = part.get_payload(decode=True) or b""
        out.append((str(name), part.get_filename() or "", part.get_content_type(),
                    payload))
    return out


def _query_terms(query: str) -> list[tuple[str, str, str]]:
    """ServiceNow encoded query ``a=1^bLIKEx`` -> [(field, op, value)]."""
    terms = []
    for term in query.split("^"):
        m = re.match(r"^([a-z_]+?)(=|LIKE)(.*)$", term)
        if m:
            terms.append((m.group(1), m.group(2), m.group(3)))
    return terms


def _matches(row: dict[str, Any], terms: list[tuple[str, str, str]]) -> bool:
    for name, op, value in terms:
        have = str(row.get(name, ""))
        if (op == "=" and have != value) or (op == "LIKE" and value not in have):
            return False
    return True


class ServiceNow(Fake):
    """Table API and Attachment API."""

    def __init__(self, auth: str) -> None:
        super().__init__(auth)
        self.tables: dict[str, list[dict[str, Any]]] = {"incident": []}
        self.journal: list[dict[str, Any]] = []
        self.attachments: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self._n = 10000

    def _sys_id(self) -> str:
        self._n += 1
        return f"{self._n:032x}"

    @staticmethod
    def error(status: int, message: str, detail: str = "") -> Answer:
        return status, {}, {"error": {"message": message, "detail": detail},
                            "status": "failure"}

    def unauthorized(self) -> Answer:
        return self.error(401, "User Not Authenticated", "Required to provide Auth "
                          "information")

    def add_incident(self, **fields: Any) -> dict[str, Any]:
        row = {"sys_id": self._sys_id(), "number": f"INC{len(self.tables['incident']) + 10001:07d}",
               **fields}
        self.tables["incident"].append(row)
        return row

    def route(self, req: Request) -> Answer:
        path, q = req.path, req.query
        if req.headers.get("accept") != "application/json":
            return self.error(406, "Not Acceptable")
        if path == "/api/now/table/sys_journal_field" and req.method == "GET":
            rows = [r for r in self.journal
                    if _matches(r, _query_terms(q.get("sysparm_query", "")))]
            return 200, {}, {"result": rows[: int(q.get("sysparm_limit", "1000"))]}
        m = re.fullmatch(r"/api/now/table/([a-z_]+)(?:/([0-9a-f]+))?", path)
        if m:
            table, sys_id = m.group(1), m.group(2)
            if table not in self.tables:
                return self.error(400, "Invalid table " + table)
            rows = self.tables[table]
            if req.method == "GET" and sys_id is None:
                terms = _query_terms(q.get("sysparm_query", ""))
                found = [r for r in rows if _matches(r, terms)]
                found = found[: int(q.get("sysparm_limit", "10000"))]
                fields = [f for f in q.get("sysparm_fields", "").split(",") if f]
                if fields:
                    found = [{f: r.get(f, "") for f in fields} for r in found]
                return 200, {}, {"result": found}
            if req.method == "POST" and sys_id is None:
                if not req.headers.get("content-type", "").startswith("application/json"):
                    return self.error(415, "Unsupported Media Type")
                data = json.loads(req.body)
                row = self.add_incident(**data)
                return 201, {"Location": f"/api/now/table/{table}/{row['sys_id']}"}, \
                    {"result": row}
            row = next((r for r in rows if r["sys_id"] == sys_id), None)
            if row is None:
                return self.error(404, "No Record found",
                                  "Record doesn't exist or ACL restricts the record retrieval")
            if req.method == "PATCH":
                data = json.loads(req.body)
                for element in ("work_notes", "comments"):
                    if element in data:
                        self.journal.append({"sys_id": self._sys_id(), "element_id": sys_id,
                                             "element": element, "value": data.pop(element),
                                             "name": table})
                row.update(data)
                return 200, {}, {"result": row}
            return 200, {}, {"result": row}
        if path == "/api/now/attachment" and req.method == "GET":
            terms = _query_terms(q.get("sysparm_query", ""))
            return 200, {}, {"result": [a for a in self.attachments if _matches(a, terms)]}
        if path == "/api/now/attachment/file" and req.method == "POST":
            table, sys_id, name = q.get("table_name"), q.get("table_sys_id"), q.get("file_name")
            if not (table and sys_id and name):
                return self.error(400, "Missing parameter: table_name, table_sys_id and "
                                  "file_name are required")
            if not any(r["sys_id"] == sys_id for r in self.tables.get(table, [])):
                return self.error(400, "Invalid table_sys_id", f"no record {sys_id}")
            att = {"sys_id": self._sys_id(), "file_name": name, "table_name": table,
                   "table_sys_id": sys_id, "size_bytes": str(len(req.body)),
                   "content_type": req.headers.get("content-type", "")}
            self.attachments.append(att)
            self.files[att["sys_id"]] = req.body
            return 201, {}, {"result": att}
        return self.error(400, "Requested URI does not represent any resource")


class Jira(Fake):
    """REST API v2 and v3: search, issue, comment, attachments."""

    def __init__(self, auth: str, version: int = 2, projects: tuple[str, ...] = ("SEC",),
                 cloud: bool | None = None) -> None:
        super().__init__(auth)
        self.version = version
        self.cloud = version == 3 if cloud is None else cloud
        """Jira Cloud: the old ``/search`` answers 410 Gone (v2 and v3), ``/search/jql``
        takes its place; Data Center/Server has v2 ``/search`` only."""
        self.projects = projects
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.attachments: dict[str, list[dict[str, Any]]] = {}
        self._id = 10000

    @staticmethod
    def error(status: int, *messages: str, **errors: str) -> Answer:
        return status, {}, {"errorMessages": list(messages), "errors": errors}

    def unauthorized(self) -> Answer:
        return self.error(401, "You are not authenticated. Authentication required to "
                          "perform this operation.")

    def add_issue(self, project: str, fields: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        key = f"{project}-{len([k for k in self.issues if k.startswith(project)]) + 1}"
        issue = {"id": str(self._id), "key": key, "fields": fields}
        self.issues[key] = issue
        self.comments[key] = []
        self.attachments[key] = []
        return issue

    def route(self, req: Request) -> Answer:
        api = f"/rest/api/{self.version}"
        path = req.path
        if not path.startswith(api + "/"):
            return self.error(404, "null for uri: " + path)
        rest = path[len(api):]
        if self.cloud and rest == "/search":
            return self.error(410, "The requested API has been removed. Please migrate to "
                              f"the /rest/api/{self.version}/search/jql API.")
        if rest in ("/search", "/search/jql") and req.method == "GET":
            if not self.cloud and rest != "/search":
                return self.error(404, "null for uri: " + path)
            m = re.fullmatch(r'labels\s*=\s*"([^"]+)"', req.query.get("jql", "").strip())
            if not m:
                return self.error(400, "Error in the JQL Query")
            found = [{"id": i["id"], "key": k, "self": f"{api}/issue/{i['id']}"}
                     for k, i in self.issues.items()
                     if m.group(1) in i["fields"].get("labels", [])]
            found = found[: int(req.query.get("maxResults", "50"))]
            if rest == "/search/jql":
                return 200, {}, {"issues": found, "isLast": True}
            return 200, {}, {"startAt": 0, "maxResults": 50, "total": len(found),
                             "issues": found}
        if rest == "/issue" and req.method == "POST":
            fields = json.loads(req.body).get("fields", {})
            project = (fields.get("project") or {}).get("key")
            if project not in self.projects:
                return self.error(400, project="valid project is required")
            if not fields.get("summary"):
                return self.error(400, summary="You must specify a summary of the issue.")
            if not (fields.get("issuetype") or {}).get("name"):
                return self.error(400, issuetype="valid issue type is required")
            desc = fields.get("description")
            if self.version == 3 and not (isinstance(desc, dict) and desc.get("type") == "doc"):
                return self.error(400, description="Operation value must be an Atlassian "
                                  "Document (see the Atlassian Document Format)")
            if self.version == 2 and not isinstance(desc, str):
                return self.error(400, description="Operation value must be a string")
            issue = self.add_issue(project, fields)
            return 201, {}, {"id": issue["id"], "key": issue["key"],
                             "self": f"{api}/issue/{issue['id']}"}
        m = re.fullmatch(r"/issue/([A-Z][A-Z0-9]*-\d+)(/comment|/attachments)?", rest)
        if not m:
            return self.error(404, "null for uri: " + path)
        key, sub = m.group(1), m.group(2)
        if key not in self.issues:
            return self.error(404, "Issue does not exist or you do not have permission to "
                              "see it.")
        if sub is None and req.method == "GET":
            issue = self.issues[key]
            return 200, {}, {"id": issue["id"], "key": key,
                             "fields": {"attachment": self.attachments[key]}}
        if sub == "/comment":
            if req.method == "GET":
                return 200, {}, {"startAt": 0, "maxResults": 5000,
                                 "total": len(self.comments[key]),
                                 "comments": self.comments[key]}
            body = json.loads(req.body).get("body")
            if self.version == 3 and not isinstance(body, dict):
                return self.error(400, comment="Comment body must be an Atlassian Document")
            comment = {"id": str(10000 + len(self.comments[key])), "body": body}
            self.comments[key].append(comment)
            return 201, {}, comment
        if sub == "/attachments" and req.method == "POST":
            if req.headers.get("x-atlassian-token") != "no-check":
                return 403, {}, "XSRF check failed"
            out = []
            for name, filename, ctype, data in multipart_files(req):
                if name != "file":
                    continue
                att = {"id": str(20000 + sum(len(v) for v in self.attachments.values())),
                       "filename": filename, "size": len(data), "mimeType": ctype,
                       "data": base64.b64encode(data).decode()}
                self.attachments[key].append(att)
                out.append({k: v for k, v in att.items() if k != "data"})
            if not out:
                return self.error(400, "No file in the 'file' part")
            return 200, {}, out
        return self.error(405, "Method not allowed")


class Zendesk(Fake):
    """Tickets API v2 with uploads."""

    def __init__(self, auth: str) -> None:
        super().__init__(auth)
        self.tickets: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, int] = {}
        self._id = 100

    def unauthorized(self) -> Answer:
        return 401, {}, {"error": "Couldn't authenticate you"}

    def add_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        self._id += 1
        comment = ticket.pop("comment", {})
        row = {"id": self._id, "status": "new", **ticket}
        self.tickets[self._id] = row
        self.comments[self._id] = []
        if comment:
            self._comment(self._id, comment)
        return row

    def _comment(self, ticket_id: int, comment: dict[str, Any]) -> None:
        attachments = [self.uploads[t]["attachment"] for t in comment.get("uploads", [])
                       if t in self.uploads]
        self.comments[ticket_id].append({"id": len(self.comments[ticket_id]) + 1,
                                         "body": comment.get("body", ""),
                                         "public": comment.get("public", True),
                                         "attachments": attachments})

    @staticmethod
    def invalid(message: str) -> Answer:
        return 422, {}, {"error": "RecordInvalid", "description": "Record validation errors",
                         "details": {"base": [{"description": message}]}}

    def route(self, req: Request) -> Answer:
        path = req.path
        if path == "/api/v2/uploads.json" and req.method == "POST":
            name = req.query.get("filename")
            if not name:
                return 400, {}, {"error": "InvalidEndpoint", "description": "filename is "
                                 "required"}
            token = f"tok{len(self.uploads) + 1:05d}"
            att = {"id": 500 + len(self.uploads), "file_name": name, "size": len(req.body),
                   "content_type": req.headers.get("content-type", ""),
                   "data": base64.b64encode(req.body).decode()}
            self.uploads[token] = {"token": token, "attachment": att}
            return 201, {}, {"upload": {"token": token, "expires_at": "2099-01-01T00:00:00Z",
                                        "attachment": att, "attachments": [att]}}
        if path == "/api/v2/tickets.json" and req.method == "GET":
            ext = req.query.get("external_id")
            found = [t for t in self.tickets.values() if ext and t.get("external_id") == ext]
            return 200, {}, {"tickets": found, "count": len(found), "next_page": None,
                             "previous_page": None}
        if path == "/api/v2/tickets.json" and req.method == "POST":
            ticket = dict(json.loads(req.body).get("ticket") or {})
            key = req.headers.get("idempotency-key")
            if key and key in self.idempotency:
                return 201, {"x-idempotency-lookup": "hit"}, \
                    {"ticket": self.tickets[self.idempotency[key]]}
            if not (ticket.get("comment") or {}).get("body"):
                return self.invalid("Description: cannot be blank")
            row = self.add_ticket(ticket)
            if key:
                self.idempotency[key] = row["id"]
            return 201, {"Location": f"/api/v2/tickets/{row['id']}.json"}, {"ticket": row}
        m = re.fullmatch(r"/api/v2/tickets/(\d+)(/comments)?\.json", path)
        if m:
            tid = int(m.group(1))
            if tid not in self.tickets:
                return 404, {}, {"error": "RecordNotFound", "description": "Not found"}
            if m.group(2) and req.method == "GET":
                return 200, {}, {"comments": self.comments[tid], "next_page": None,
                                 "previous_page": None, "count": len(self.comments[tid])}
            if not m.group(2) and req.method == "PUT":
                ticket = dict(json.loads(req.body).get("ticket") or {})
                comment = ticket.pop("comment", None)
                if comment:
                    self._comment(tid, comment)
                self.tickets[tid].update(ticket)
                return 200, {}, {"ticket": self.tickets[tid], "audit": {"events": []}}
        return 404, {}, {"error": "InvalidEndpoint", "description": "Not found"}


class Webhook(Fake):
    """A receiver that drops repeats by Idempotency-Key."""

    def __init__(self, auth: str) -> None:
        super().__init__(auth)
        self.events: dict[str, dict[str, Any]] = {}

    def unauthorized(self) -> Answer:
        return 401, {}, {"message": "invalid token"}

    def route(self, req: Request) -> Answer:
        if req.method != "POST":
            return 405, {}, {"message": "POST only"}
        key = req.headers.get("idempotency-key", "")
        if not key:
            return 400, {}, {"message": "Idempotency-Key required"}
        number = f"WH-{len(self.events) + 1}"
        if key in self.events:
            return 200, {}, {"number": self.events[key]["number"],
                             "url": self.events[key]["url"]}
        event = {"number": number, "url": f"https://tickets.example/{number}",
                 "payload": json.loads(req.body)}
        self.events[key] = event
        return 201, {}, {"number": number, "url": event["url"]}
