"""A call's answers by step key as the engine reads them, counting its changes.

:class:`AnswerValues` is a ``dict`` (JSON, ``dict(...)`` and every reader take it as
one) that only its owner changes (:class:`wizard.calls.journal.state.AnswerRecords`,
through :meth:`AnswerValues._put` and :meth:`AnswerValues._drop`); to anyone else it is
read-only. It records which keys changed, in order, so that the engine can tell what
changed since it last walked these answers without comparing the whole route
(:meth:`changed_since`): a long call then costs the same at every step.
"""

from __future__ import annotations

from typing import Any, NoReturn

_MISSING: Any = object()


class AnswerValues(dict[str, str]):
    """The answers of one call (step key -> value), changed only by their owner."""

    __slots__ = ("__weakref__", "_log")

    def __init__(self) -> None:
        super().__init__()
        self._log: list[str] = []

    @property
    def revision(self) -> int:
        """How many changes have been made so far."""
        return len(self._log)

    def changed_since(self, revision: int) -> list[str]:
        """The keys changed (set, replaced or removed) after ``revision``, oldest first."""
        return self._log[revision:]

    # -- for the owner only ------------------------------------------------------------
    def _put(self, key: str, value: str) -> None:
        if dict.get(self, key, _MISSING) != value:
            dict.__setitem__(self, key, value)
            self._log.append(key)

    def _drop(self, key: str) -> None:
        if dict.__contains__(self, key):
            dict.__delitem__(self, key)
            self._log.append(key)

    # -- read-only to everyone else --------------------------------------------------
    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("a call's answers change only through its records")

    __setitem__ = __delitem__ = pop = popitem = clear = update = setdefault = _refuse
    __ior__ = _refuse

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __reduce__(self) -> Any:  # copies and pickles are plain dicts
        return (dict, (dict(self),))
