"""An escape sequence typed or pasted at a prompt (``ESC[31m``: a colour code copied
with the text) is refused by the prompt itself in a real terminal: one line, the
prompt again, no traceback and no "Press ENTER to continue"."""

from __future__ import annotations

from pathlib import Path

import pexpect

from .helpers.run import PYTHON, ROOT, cli_env, pty_spawn

ENTER = "\r"
CTRL_U = "\x15"
COLOUR = "\x1b[31m"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
REFUSAL = "Escape sequences and control characters cannot be typed here"
BROKEN = ("Traceback", "Unhandled exception", "Press ENTER to continue")


def spawn(data_dir: Path) -> pexpect.spawn:
    env = cli_env(data_dir, PROMPT_TOOLKIT_NO_CPR="1")
    return pty_spawn(PYTHON, ["-m", "wizard", "start"], env=env, cwd=str(ROOT),
                     encoding="utf-8", timeout=30, dimensions=(50, 160))


def refused(child: pexpect.spawn) -> str:
    """What the terminal showed up to the refusal (it must be the refusal first)."""
    index = child.expect_exact([REFUSAL, *BROKEN])
    assert index == 0, child.before + child.after
    return str(child.before)


def test_escape_sequence_typed_at_a_text_prompt_is_refused_and_asked_again(
        data_dir: Path) -> None:
    child = spawn(data_dir)
    child.expect_exact("What is the call about?")
    # at a choice list the sequence is dropped: no traceback, the list still answers
    child.send(COLOUR)
    child.send("1" + ENTER)
    child.expect_exact("What is the name of the caller's computer?")
    child.send(COLOUR + ENTER)
    refused(child)
    # the prompt is still there: the line is cleared and the name typed
    child.send(CTRL_U + "ws-ann" + ENTER)
    index = child.expect_exact(["Which Windows does ws-ann run?", *BROKEN])
    assert index == 0, child.before
    # pasted with the text (bracketed paste): refused the same way
    child.send("1" + ENTER)
    child.expect_exact("Which computer is the caller trying to reach")
    child.send(PASTE_START + "fs01" + COLOUR + PASTE_END + ENTER)
    refused(child)
    child.send(CTRL_U + "fs01" + ENTER)
    child.expect_exact("If known, the IP address of fs01")
    # a note of the step: refused in its prompt, not when saved
    child.send(":note" + ENTER)
    child.expect_exact("Note for this step:")
    child.send("see " + COLOUR + "log" + ENTER)
    refused(child)
    child.send(CTRL_U + "caller reads it off a sticker" + ENTER)
    child.expect_exact("Note saved.")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    (journal,) = (data_dir / "calls").glob("*.jsonl")
    text = journal.read_text()
    assert "\\u001b" not in text and "caller reads it off a sticker" in text
