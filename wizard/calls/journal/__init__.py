"""The call record: an append-only journal, one JSON line per event, flushed to disk.

Every answer is written the moment it is given, so a closed terminal or a killed
process loses at most the answer being typed; it reaches the disk itself (fsync) once
the next question is on the screen, and always before any later event is accepted. The state of a
call is the replay of its journal: the last answer given for each step wins.

The record's parts: writing (:mod:`.writer`), reading back (:mod:`.events`), the state
a journal replays to (:mod:`.state`) and the folder of records (:mod:`.folder`).
"""

from wizard.base.privacy import atomic_write
from wizard.calls.journal.events import check_event, read_events
from wizard.calls.journal.folder import CALLS_DIR, MAX_TICKET, JournalFolder
from wizard.calls.journal.state import AnswerRecord, CallState, replay
from wizard.calls.journal.writer import CallBusy, CallLock, Journal, JournalError, now_iso

__all__ = ["CALLS_DIR", "MAX_TICKET", "AnswerRecord", "CallBusy", "CallLock", "CallState",
           "Journal", "JournalError", "JournalFolder", "atomic_write", "check_event",
           "now_iso", "read_events", "replay"]
