"""The data folder holds personal data (names, phone numbers, machines, answers): it
and everything in it are private to the user who runs the wizard (folders 0700, files
0600), when created and when found otherwise (:func:`tighten`: its folders and its own
files before every command, the files inside a folder when that folder is found open).

On Windows the user profile's access rules already keep the data folder private; the
POSIX modes below only apply where they mean something.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
_POSIX = os.name == "posix"


Stamp = tuple[int, int, int]
"""A file's identity, modification time and size: equal stamps, the same contents."""


def file_stamp(path: Path) -> Stamp | None:
    """The stamp of ``path`` (None if there is no such file; another failure to read
    it is raised): a file kept in memory is read again only when its stamp changes."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by its owner only."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if _POSIX:
        for p in missing:  # mkdir's mode is cut by the umask and not used for parents
            with contextlib.suppress(OSError):
                os.chmod(p, DIR_MODE)


def private_file(path: Path) -> None:
    """Create an empty ``path`` readable by its owner only, if it does not exist."""
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        os.close(fd)


def _tighten_files(folder: Path) -> list[str]:
    """Make the files directly in ``folder`` private; one warning for all that were not
    (a folder of journals may hold thousands)."""
    opened, failed = 0, 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid()
                    or not st.st_mode & 0o077):
                continue
            try:
                os.chmod(entry.path, stat.S_IMODE(st.st_mode) & FILE_MODE)
                opened += 1
            except OSError:
                failed += 1
    out = []
    if opened:
        out.append(f"{folder}: {opened} file(s) holding call data were readable by other "
                   "users; made private (600)")
    if failed:
        out.append(f"{folder}: {failed} file(s) holding call data are readable by other "
                   "users and could not be made private")
    return out


def tighten(data_dir: Path) -> list[str]:
    """Make the data folder, its folders and its files private again; return a warning
    for what was readable by others.

    Run before every command, so it costs what the data folder holds directly, not what
    its folders hold (thousands of journals): a file in a private folder cannot be
    read by others whatever its own mode, so the files inside a folder (journals,
    tickets, the outbox) are checked when that folder is found open, and made private
    with it."""
    if not _POSIX or not data_dir.is_dir():
        return []
    warnings: list[str] = []
    entries = [data_dir]
    with contextlib.suppress(OSError):
        entries += sorted(data_dir.iterdir())
    for path in entries:
        try:
            st = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            want = DIR_MODE
        elif stat.S_ISREG(st.st_mode):
            want = FILE_MODE
        else:
            continue
        if st.st_uid != os.getuid() or not st.st_mode & 0o077:
            continue
        kind = "folder" if want == DIR_MODE else "file"
        try:
            os.chmod(path, stat.S_IMODE(st.st_mode) & want)
        except OSError as exc:
            warnings.append(f"{path}: {kind} holding call data is readable by other users "
                            f"(mode {stat.S_IMODE(st.st_mode):o}) and could not be made "
                            f"private: {exc.strerror or exc}")
            continue
        warnings.append(f"{path}: {kind} holding call data was readable by other users "
                        f"(mode {stat.S_IMODE(st.st_mode):o}); made private "
                        f"({stat.S_IMODE(st.st_mode) & want:o})")
        if want == DIR_MODE and path != data_dir:
            warnings += _tighten_files(path)
    return warnings


def atomic_write(path: Path, text: str, *, durable: bool = True) -> None:
    """Write a whole file so that readers see the old or the new content, never half.

    ``durable=False`` leaves out the fsync (still atomic, but not power-loss safe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
