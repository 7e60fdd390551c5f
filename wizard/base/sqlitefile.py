"""A small SQLite file of the data folder, private to the server's user and shared by
its processes (the login limit, the web sessions): the standard library's SQLite does
the locking between them, each connection is opened for one piece of work."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from wizard.base.privacy import private_dir, private_file


class SQLiteFile:
    """Connections to ``path``, its tables made by ``schema`` on the first one."""

    def __init__(self, path: Path, schema: Sequence[str]) -> None:
        self.path = path
        self.schema = tuple(schema)
        self._ready = False

    def connect(self) -> sqlite3.Connection:
        """A connection in autocommit mode (``BEGIN IMMEDIATE`` for a transaction)."""
        if not self._ready:
            private_dir(self.path.parent)
            private_file(self.path)
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        if not self._ready:
            for statement in self.schema:
                db.execute(statement)
            self._ready = True
        return db
