"""State as data: a versioned JSON file written atomically, and a JSONL journal.

The state file is written to a temporary file in the same folder, fsynced and
renamed over the old one, so a crash or a full disk leaves the last good state
in place. A file that cannot be read (empty, truncated, garbage, a newer
version, unreadable) is renamed aside with a message, and the session starts
fresh. Nothing is ever ``eval``'d.

The journal (``journal.jsonl`` beside the state file) gets one line per frame
sent or received: time, direction, interface, xid and the bytes in hex. Past
64 MiB it becomes ``journal.jsonl.1`` when a session opens it, one generation kept.

Under sudo, the files and folders created belong to the invoking user.
"""

from __future__ import annotations

import json
import os
import pwd
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from .errors import StateError

STATE_VERSION = 1
JOURNAL_LIMIT = 64 << 20  # bytes before the journal is rotated
STATE_NAME = "state.json"
JOURNAL_NAME = "journal.jsonl"


def _sudo_owner() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if uid and gid and uid.isdigit() and gid.isdigit() and int(uid) != 0:
        return int(uid), int(gid)
    return None


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/scapy-dhcp``; under sudo, the invoking user's."""
    owner = _sudo_owner()
    if owner is not None:
        try:
            home = Path(pwd.getpwuid(owner[0]).pw_dir)
            return home / ".local" / "state" / "scapy-dhcp"
        except KeyError:
            pass
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "scapy-dhcp"


def _chown(path: Path) -> None:
    owner = _sudo_owner()
    if owner is not None:
        try:
            os.chown(path, *owner)
        except OSError:
            pass


def _makedirs(folder: Path) -> None:
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    for p in missing:
        _chown(p)


def _parse_lines(lines: Iterable[str | bytes]) -> list[dict[str, Any]]:
    """The journal records in ``lines``; a torn or foreign line is skipped."""
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


class Store:
    """Where one session keeps its state and journal.

    ``load()`` never raises: it returns the state (or ``{}``) and puts what it
    had to set aside into ``messages``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else default_state_dir() / STATE_NAME
        self.journal_path = self.path.with_name(
            JOURNAL_NAME if self.path.name == STATE_NAME else self.path.stem + ".journal.jsonl")
        self.messages: list[str] = []
        self.journal_limit = JOURNAL_LIMIT
        self._journal: int | None = None  # an O_APPEND file descriptor

    def load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            self._set_aside(f"cannot read it ({getattr(exc, 'strerror', None) or exc})")
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self._set_aside("empty" if not text.strip() else f"not valid JSON ({exc.msg} at line {exc.lineno})")
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            self._set_aside("not a scapy-dhcp state file (no version)")
            return {}
        if data["version"] > STATE_VERSION:
            self._set_aside(f"written by a newer scapy-dhcp (version {data['version']})")
            return {}
        return data

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        try:
            os.replace(self.path, aside)
            where = f"moved to {aside}"
        except OSError as exc:
            where = f"left in place: {exc.strerror}"
        self.messages.append(f"state file {self.path} is {why}; {where}; starting fresh")

    def save(self, data: dict[str, Any]) -> None:
        """Writes atomically: temp file, fsync, rename. Raises StateError (the
        old file stays intact) when the disk is full or not writable."""
        data = {**data, "version": STATE_VERSION, "saved": time.time()}
        text = json.dumps(data, indent=1, sort_keys=True)
        tmp = None
        try:
            _makedirs(self.path.parent)
            fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            _chown(Path(tmp))
            # The file is on disk before the rename, and the rename is atomic: a
            # crash leaves the old state or the new one, never a partial file.
            # (The folder is not fsynced: that would only make the rename itself
            # survive a power cut, at the cost of another disk flush per save.)
            os.replace(tmp, self.path)
            tmp = None
        except OSError as exc:
            raise StateError(f"cannot save state to {self.path}: {exc.strerror or exc}; "
                             "the previous state is kept") from None
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def append(self, record: dict[str, Any]) -> None:
        """Adds one line to the journal, in one write(2) on an O_APPEND file, so
        that two shells on one journal never interleave their lines. A full disk
        loses the line with a message, never the session."""
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        try:
            if self._journal is None:
                _makedirs(self.journal_path.parent)
                self._rotate()
                new = not self.journal_path.exists()
                self._journal = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                if new:
                    _chown(self.journal_path)
            os.write(self._journal, line)
        except OSError as exc:
            msg = f"journal {self.journal_path}: {exc.strerror or exc}"
            if msg not in self.messages:
                self.messages.append(msg)

    @property
    def old_journal_path(self) -> Path:
        return self.journal_path.with_name(self.journal_path.name + ".1")

    def _rotate(self) -> None:
        """Past JOURNAL_LIMIT bytes the journal moves to ``journal.jsonl.1`` (one
        generation kept, the one before is dropped), so it cannot fill the disk."""
        try:
            if self.journal_path.stat().st_size > self.journal_limit:
                os.replace(self.journal_path, self.old_journal_path)
        except FileNotFoundError:
            pass

    def tail(self, limit: int = 200) -> list[dict[str, Any]]:
        """The last ``limit`` journal records that can be read; bad lines are skipped."""
        try:
            with open(self.journal_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - limit * 4000))  # a line holds at most a 1514-byte frame in hex
                return _parse_lines(fh.read().splitlines()[-limit:])
        except OSError:
            return []

    def records(self, containing: str) -> list[dict[str, Any]]:
        """Every readable journal record (the rotated generation too) whose line contains ``containing``."""
        out: list[dict[str, Any]] = []
        for path in (self.old_journal_path, self.journal_path):
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    out += _parse_lines(line for line in fh if containing in line)
            except OSError:
                continue
        return out

    def close(self) -> None:
        if self._journal is not None:
            os.close(self._journal)
            self._journal = None
