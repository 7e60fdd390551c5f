"""Every ``source`` of the flowcharts and the known-issues catalogue quotes the source
documents verbatim (after whitespace, quote marks, dashes and backticks are normalised),
or says plainly that it paraphrases a named KB article. A quote that drifted from the
text, or a passage made up, fails here."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from .helpers.calls import ROOT

#: The source documents: Chapter 7 and the blog case. The folder's README.md holds notes
#: on the KB articles, not a source: a step that rests on a KB article says that it
#: paraphrases it, and nothing may quote the notes.
SEEDS = Path(os.environ.get("IPSEC_TRIAGE_SEEDS", ROOT.parent / "shared" / "seeds"))
NOTES = "README.md"
PARAPHRASE = re.compile(r"\bparaphras\w* (?:of )?KB \d{6}\b", re.IGNORECASE)

_MARKS = {"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2013": "-",
          "\u2014": "-", "\u2026": "...", "`": ""}


def normalise(text: str) -> str:
    for mark, plain in _MARKS.items():
        text = text.replace(mark, plain)
    return " ".join(text.split())


def quotes(source: str) -> list[str]:
    """The quoted passages of a source, cut at "..." (each piece must be verbatim)."""
    pieces = []
    for quoted in re.findall(r'"([^"]*)"', normalise(source)):
        for piece in re.split(r"\s*\.\.\.\s*", quoted):
            piece = piece.strip(" .,;:")
            if len(piece) >= 3:
                pieces.append(piece)
    return pieces


def sources() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "flowcharts").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        name = path.relative_to(ROOT / "flowcharts").as_posix()
        if "nodes" in data:
            found.append((f"{name} (the chart)", data["source"]))
            found += [(f"{name}: {key}", node["source"]) for key, node in data["nodes"].items()]
        else:
            found += [(f"{name}: {e['id']}", e["source"]) for e in data["entries"]]
    return found


@pytest.fixture(scope="module")
def seeds() -> str:
    if not SEEDS.is_dir():
        pytest.skip(f"the source documents are not at {SEEDS} (set IPSEC_TRIAGE_SEEDS)")
    return normalise(" ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir())
                              if p.is_file() and p.name != NOTES))


def test_every_source_quotes_the_documents_verbatim_or_names_the_kb_it_paraphrases(
        seeds: str) -> None:
    problems = []
    for where, source in sources():
        pieces = quotes(source)
        if not pieces and not PARAPHRASE.search(source):
            problems.append(f"{where}: no quoted passage and no 'paraphrases KB nnnnnn'")
        problems += [f"{where}: not in the documents: {p!r}" for p in pieces
                     if p not in seeds]
    assert not problems, "\n".join(problems)


def test_a_changed_word_in_a_quote_is_caught(seeds: str) -> None:
    good = 'Figure 7.1: "Is it a network connectivity problem? If so, attempt basic network'
    good += ' troubleshooting."'
    assert all(p in seeds for p in quotes(good))
    assert not all(p in seeds for p in quotes(good.replace("basic", "advanced")))
    assert quotes("Tier 1 lore, no quote") == [] and not PARAPHRASE.search("Tier 1 lore")
    assert PARAPHRASE.search("Paraphrases KB 956188: the DNS Server service takes ports")


def test_the_notes_on_the_kb_articles_are_not_a_source(seeds: str) -> None:
    # a sentence of the notes, once quoted as if it were KB 956188's own words
    assert "after update 953230 the DNS Server service takes 2,500 random UDP ports" not in seeds
    for where, source in sources():
        assert "source notes" not in source.lower(), where


def test_a_quote_supports_the_step_it_is_on() -> None:
    found = dict(sources())
    # line 35 says all four Tier 2 groups were the first escalation point, not one of them
    assert "initial escalation point" not in found["fig7_3.yaml: escalate_target"]
    # "starts successfully in Safe mode" is the opposite of a server with no network there
    assert "starts successfully in Safe mode" not in \
        found["server_restart.yaml: escalate_no_network"]
