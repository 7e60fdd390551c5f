"""The help desk a front end works for: its data folder, organization file, flowcharts
and templates, resolved once by one rule, and the stores they lead to.

A front end builds one :class:`Desk` from its own options (the command line's global
options, the web server's settings) and hands it to the operations of this package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.base.errors import ExitStatus, TriageError
from wizard.base.resources import builtin_dir
from wizard.calls.journal import CallState, JournalError, JournalFolder
from wizard.flows.flowset import FlowchartError, FlowSet, load_flowset

if TYPE_CHECKING:
    from wizard.config.known import Org
    from wizard.config.organization import OrgConfig
    from wizard.records.store import DatabaseStore

APP = "ipsec-triage"


def _ignore(message: str) -> None:
    return None


@dataclass(frozen=True)
class FlowchartSource:
    """Which flowchart folder is used and why (the rule: --flowcharts, then
    $IPSEC_TRIAGE_FLOWCHARTS, then ``flowcharts_dir`` in the organization file, then the
    shipped set)."""

    path: Path
    why: str


class FlowchartProblems(TriageError):
    """The flowcharts in use have problems: nothing was started. ``problems`` are the
    one-line ``file:line: ...`` reports to show first."""

    status = ExitStatus.FLOWCHART

    def __init__(self, source: FlowchartSource, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} flowchart problem(s) in {source.path} "
                         f"({source.why}); nothing was started (run 'ipsec-triage lint' "
                         "after fixing)")
        self.problems = problems


def _templates_found(folder: str | None) -> None:
    if folder and not Path(folder).is_dir():
        raise TriageError(f"{folder}: template folder not found", ExitStatus.CONFIG)


def describe_flowset(fs: FlowSet, source: FlowchartSource) -> str:
    """One line naming the flowchart set in use and its versions."""
    digest = hashlib.sha256(
        "".join(f"{c}:{d}" for c, d in sorted(fs.digests.items())).encode()).hexdigest()[:8]
    versions = ", ".join(f"{cid} {c.version}" for cid, c in fs.charts.items())
    return f"Flowcharts: {source.path} ({source.why}); set {digest}: {versions}"


@dataclass
class Desk:
    """Where a help desk's calls, settings and flowcharts are.

    ``flowcharts``, ``org_file`` and ``templates`` are what the front end was told
    (an option); None means "by the rule": the environment, then the organization file,
    then the shipped defaults.
    """

    data_dir: Path
    environ: Mapping[str, str] = field(default_factory=dict)
    org_file: Path | None = None
    flowcharts: Path | None = None
    templates: Path | None = None
    on_warning: Callable[[str], None] = _ignore

    @classmethod
    def from_options(cls, *, environ: Mapping[str, str], data_dir: str | None = None,
                     org: str | None = None, flowcharts: str | None = None,
                     templates: str | None = None,
                     on_warning: Callable[[str], None] = _ignore) -> Desk:
        """The desk by the documented rule: an option wins, then
        $IPSEC_TRIAGE_DATA / $IPSEC_TRIAGE_ORG, then the user data folder and the
        ``org.yaml`` in it."""
        if data_dir:
            folder = Path(data_dir).expanduser()
        elif environ.get("IPSEC_TRIAGE_DATA"):
            folder = Path(environ["IPSEC_TRIAGE_DATA"]).expanduser()
        else:
            import platformdirs

            folder = Path(platformdirs.user_data_dir(APP, appauthor=False))
        if org:
            org_file: Path | None = Path(org).expanduser()
        elif environ.get("IPSEC_TRIAGE_ORG"):
            org_file = Path(environ["IPSEC_TRIAGE_ORG"]).expanduser()
        else:
            default = folder / "org.yaml"
            org_file = default if default.is_file() else None
        return cls(data_dir=folder, environ=environ, org_file=org_file,
                   flowcharts=Path(flowcharts).expanduser() if flowcharts else None,
                   templates=Path(templates).expanduser() if templates else None,
                   on_warning=on_warning)

    # -- the organization file ------------------------------------------------------
    def org(self) -> OrgConfig:
        """The organization's settings (the defaults without a file), with the template
        folder the front end names."""
        from wizard.config.organization import OrgConfig, org_from_data, read_org_file

        if self.org_file is None:
            org = OrgConfig()
        else:
            content, data = read_org_file(self.org_file)
            org = org_from_data(self.org_file, data)
            if content is not None:  # found right: a call need not check it again
                from wizard.config.known import remember

                remember(self.org_file, content, data, org)
        if self.templates:
            org = org.model_copy(update={"templates_dir": str(self.templates)})
        _templates_found(org.templates_dir)
        return org

    def call_org(self) -> Org | None:
        """The organization file for a call; None without one (the call then builds the
        defaults when it first needs them, not before its first question). A file read
        right before and unchanged since is not read and checked again before the
        first question (:mod:`wizard.config.known`)."""
        if not self.templates and self.org_file is None:
            return None
        if self.org_file is not None and not self.templates:
            from wizard.config.known import recall

            known = recall(self.org_file)
            if known is not None:
                _templates_found(known.templates_dir)
                return known
        return self.org()

    # -- flowcharts -------------------------------------------------------------------
    def flowchart_source(self, directory: str | None = None,
                         org: Org | None = None) -> FlowchartSource:
        if directory:
            return FlowchartSource(Path(directory).expanduser(), "given on the command line")
        if self.flowcharts:
            return FlowchartSource(self.flowcharts, "--flowcharts")
        if self.environ.get("IPSEC_TRIAGE_FLOWCHARTS"):
            return FlowchartSource(Path(self.environ["IPSEC_TRIAGE_FLOWCHARTS"]).expanduser(),
                                   "$IPSEC_TRIAGE_FLOWCHARTS")
        if org is None and self.org_file is not None:
            org = self.org()
        if org is not None and org.flowcharts_dir:
            return FlowchartSource(Path(org.flowcharts_dir).expanduser(),
                                   "flowcharts_dir in the organization file")
        return FlowchartSource(builtin_dir("flowcharts"), "the shipped set")

    def flowset(self, org: Org | None = None
                ) -> tuple[FlowSet, FlowchartSource]:
        """The checked flowchart set in use; FlowchartProblems when it has problems."""
        source = self.flowchart_source(org=org)
        try:
            return load_flowset(source.path), source
        except FlowchartError as exc:
            raise FlowchartProblems(source, [str(p) for p in exc.problems]) from None

    # -- records ----------------------------------------------------------------------
    def journals(self) -> JournalFolder:
        """The folder of call journals (the source of truth for every call)."""
        return JournalFolder(self.data_dir, on_warning=self.on_warning)

    def load_call(self, ref: str) -> tuple[JournalFolder, CallState]:
        """A recorded call by id, unique prefix or ``last``."""
        journals = self.journals()
        try:
            return journals, journals.load(ref)
        except JournalError as exc:
            raise TriageError(str(exc), ExitStatus.NOT_FOUND) from None

    def database(self) -> DatabaseStore:
        """The call store: $IPSEC_TRIAGE_STORE, else the organization file's
        ``store_url``, else SQLite in the data folder."""
        from wizard.records.store import StoreError, open_store, resolve_url

        configured = None
        if not (self.environ.get("IPSEC_TRIAGE_STORE") or "").strip() and self.org_file:
            configured = self.org().store_url
        try:
            return open_store(self.data_dir, resolve_url(self.data_dir, environ=self.environ,
                                                         configured=configured))
        except StoreError as exc:
            raise TriageError(str(exc), ExitStatus.CONFIG) from None
