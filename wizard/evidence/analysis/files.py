"""Files and packets: which reader a file needs, and the analysis of a packet or of files."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from defusedxml import DefusedXmlException

from wizard.base.errors import ExitStatus, TriageError
from wizard.evidence.analysis.events import read_events
from wizard.evidence.analysis.exports import _text, read_547, read_mmsa, read_netevents
from wizard.evidence.analysis.findings import MAX_FILE, AnalysisRefused, Report

# -- files and packets ------------------------------------------------------------------

def kind_of(name: str, head: bytes) -> str | None:
    low = name.lower()
    if low.endswith("_ipsec_547_events.txt"):
        return "547"
    probe = head[:4096]
    if probe.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        probe = probe.decode("utf-16", "replace").encode()
    probe = probe.removeprefix(codecs.BOM_UTF8).lstrip()
    probe = re.sub(rb"^(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*", b"", probe, flags=re.S)
    if re.match(rb"<Events?[\s>]", probe) or re.search(rb"<!(DOCTYPE|ENTITY)", probe, re.I):
        # (a DTD is refused when it is read)
        return "events"
    if re.match(rb"<(netEvents|wfpdiag|wfpstate)\b", probe) or (
            low.endswith("netevents.xml") and probe.startswith(b"<")):
        return "netevents"
    if b"Main Mode SA at" in probe or low.endswith("_netsh_mmsa.txt"):
        return "mmsa"
    if re.search(rb"(?i)event(\s*id)?\s*[:=]?\s*547\b", probe) and b"Failure Reason" in probe:
        return "547"
    return None


def read_stream(name: str, raw: IO[bytes], report: Report) -> None:
    """One file (of any kind read here, else noted and left alone)."""
    buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(
        raw, 256 * 1024)
    kind = kind_of(name, buffered.peek(4096)[:4096])
    short = Path(name).name
    if kind is None:
        return
    report.files.append(short)
    try:
        if kind == "events":
            read_events(buffered, report, short)
        elif kind == "netevents":
            read_netevents(buffered, report, short)
        elif kind == "mmsa":
            read_mmsa(_text(buffered), report)
        else:
            read_547(_text(buffered), report, short)
    except DefusedXmlException as exc:
        raise AnalysisRefused(f"{short}: refused: the XML declares a DTD or entities "
                              f"({type(exc).__name__}): an XML bomb or external entity, "
                              "not an export of Windows") from None
    except AnalysisRefused as exc:
        raise AnalysisRefused(f"{short}: refused: {exc}") from None
    except RecursionError:
        raise AnalysisRefused(f"{short}: refused: XML nested too deep") from None
    except SyntaxError as exc:  # ParseError: the file is cut or damaged
        report.notes.append(f"{short}: not well-formed XML ({str(exc)[:100]}); read up to "
                            "there")


def analyze_packet(path: Path, report: Report | None = None) -> Report:
    """The evidence files of a packet (zip)."""
    report = report or Report()
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir() or info.file_size > MAX_FILE:
                    continue
                with zf.open(info) as fh:
                    read_stream(info.filename, fh, report)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise TriageError(f"{path.name}: cannot read the packet ({exc})",
                          ExitStatus.USAGE) from None
    return report


def analyze(paths: Iterable[Path]) -> Report:
    """Packets (zip) and files, in one report."""
    report = Report()
    for path in paths:
        try:
            if zipfile.is_zipfile(path):
                analyze_packet(path, report)
                continue
            with open(path, "rb") as fh:
                before = len(report.files)
                read_stream(path.name, fh, report)
                if len(report.files) == before:
                    report.notes.append(f"{path.name}: not a kind of file read here (events "
                                        "XML, WFP net events, mmsa text, 547 events)")
        except OSError as exc:
            raise TriageError(f"{path}: cannot read it: {exc.strerror or exc}",
                              ExitStatus.USAGE) from None
    return report
