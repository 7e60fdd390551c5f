"""What keeps the terminal quick between Enter and the next question, and at start-up,
without changing what the staffer sees or what is on disk."""

from __future__ import annotations

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from wizard.frontends.terminal import prompts


def _typed(keys: str) -> str:
    with create_pipe_input() as inp:
        question = prompts.questionary.text("Name?", input=inp, output=DummyOutput())
        inp.send_text(keys)
        return str(question.unsafe_ask())


def test_prompts_share_the_default_key_bindings_and_every_key_still_works() -> None:
    # Ctrl-A (start of line), Ctrl-E (end), Ctrl-W (delete a word), Backspace, in a
    # row of prompts: each one edits as the first did
    for _ in range(3):
        assert _typed("world\x01hello \x05 again\x17\x7f!\r") == "hello world!"
    with create_pipe_input() as inp:
        one = prompts.questionary.select("Pick", choices=["a", "b"], input=inp,
                                         output=DummyOutput()).application
        two = prompts.questionary.text("Name?", input=inp, output=DummyOutput()).application
    assert one._default_bindings is two._default_bindings
    assert one._page_navigation_bindings is two._page_navigation_bindings
