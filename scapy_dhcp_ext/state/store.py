"""State as data: a versioned JSON file written atomically, and a JSONL journal.

The state file is written to a temporary file in the same folder and renamed
over the old one, so a crash or a full disk leaves the last good state in
place. Every state change and journal line is written (``write(2)``) before the
operation that made it returns, so a killed process loses nothing; ``fsync``
runs in a background thread, in batches, so a power cut of the host loses at
most the last 100 ms. A file that cannot be read (empty, truncated, garbage, a newer
version, unreadable) is renamed aside with a message, and the session starts
fresh. Nothing is ever ``eval``'d.

The journal (``journal.jsonl`` beside the state file) gets one line per frame
sent or received: time, direction, interface, xid and the bytes in hex. Past
64 MiB it becomes ``journal.jsonl.1`` when a session opens it, one generation kept.

Under sudo, the files and folders created belong to the invoking user.
"""

from __future__ import annotations

import errno
import json
import os
import pwd
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from ..errors import StateError
from .files import Flusher, _chown, _makedirs, _sudo_owner, write_atomically

__all__ = ["Flusher", "STATE_NAME", "Store", "default_state_dir", "write_atomically"]

STATE_VERSION = 1
JOURNAL_LIMIT = 64 << 20  # bytes before the journal is rotated
HELD_LINES = 64           # journal lines held at most (Store.hold) before they are written
STATE_NAME = "state.json"
JOURNAL_NAME = "journal.jsonl"


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

    The state is saved in two steps. On the caller's path, one line in the
    journal (``{"t": ..., "state": {...}}``, one ``write(2)``): a killed process
    loses nothing. Off it, in the flusher's thread, within 100 ms: the state
    file, written to a temporary file, fsynced and renamed, and the journal
    fsynced. ``load()`` takes the state file, or a newer state line from the
    journal (a process killed before its last checkpoint); it never raises,
    and puts what it had to set aside into ``messages``."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path else default_state_dir() / STATE_NAME
        self.journal_path = self.path.with_name(
            JOURNAL_NAME if self.path.name == STATE_NAME else self.path.stem + ".journal.jsonl")
        self.messages: list[str] = []
        self.journal_limit = JOURNAL_LIMIT
        self._journal: int | None = None  # an O_APPEND file descriptor
        self._tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        self._file_lock = threading.Lock()   # the flusher's thread and save(now=True)
        self._journal_lock = threading.Lock()
        self._held: list[bytes] | None = None   # journal lines waiting for release() (see hold())
        self._file_saved = 0.0               # the "saved" time of the state file last written
        self.flusher = Flusher(on_error=self._note)

    # -- reading -----------------------------------------------------------

    def load(self) -> dict[str, Any]:
        data = self._load_file()
        newer = self._journal_state()
        if newer is not None and newer.get("saved", 0) > data.get("saved", 0):
            return newer
        return data

    def _load_file(self) -> dict[str, Any]:
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
        why = _not_a_state(data)
        if why:
            self._set_aside(why)
            return {}
        return data

    def _journal_state(self) -> dict[str, Any] | None:
        """The newest whole state line in the journal's last megabytes, if any."""
        found: dict[str, Any] | None = None
        for rec in self.tail(limit=2000, containing='"state":'):
            state = rec.get("state")
            if isinstance(state, dict) and not _not_a_state(state) and (
                    found is None or state.get("saved", 0) >= found.get("saved", 0)):
                found = state
        return found

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        try:
            os.replace(self.path, aside)
            where = f"moved to {aside}"
        except OSError as exc:
            where = f"left in place: {exc.strerror}"
        self.messages.append(f"state file {self.path} is {why}; {where}; starting fresh")

    # -- writing -----------------------------------------------------------

    def save(self, data: dict[str, Any], *, now: bool = False) -> None:
        """Saves the state: a journal line now, the state file within 100 ms
        (``now=True``: the state file before it returns). Raises StateError
        when the disk is full or not writable; the last good state is kept."""
        state = {**data, "version": STATE_VERSION, "saved": time.time()}
        try:
            if now:
                self._checkpoint(state)
                return
            self._write_line({"t": round(state["saved"], 6), "state": state}, hold=False)
        except OSError as exc:
            raise StateError(f"cannot save state to {self.path}: {exc.strerror or exc}; "
                             "the previous state is kept") from None
        self.flusher.want("state", lambda: self._checkpoint(state))

    def _checkpoint(self, state: dict[str, Any]) -> None:
        """The state file: a temporary file, fsynced, renamed over the old one
        (atomic: a crash leaves the old state or the new, never a part), then
        the folder fsynced so the rename itself survives a power cut."""
        with self._file_lock:
            if state["saved"] >= self._file_saved:  # never an older state over a newer one
                self._write_file(state)
                self._file_saved = state["saved"]

    def _write_file(self, state: dict[str, Any]) -> None:
        write_atomically(self.path, json.dumps(state, indent=1, sort_keys=True).encode(), self._tmp)

    def append(self, record: dict[str, Any]) -> None:
        """Adds one line to the journal. A full disk loses the line with a
        message, never the session."""
        try:
            self._write_line(record)
        except OSError as exc:
            self._note(f"journal {self.journal_path}: {exc.strerror or exc}")

    def _write_line(self, record: dict[str, Any], *, hold: bool = True) -> None:
        """One line, in one write(2) on an O_APPEND file, so that two shells on
        one journal never interleave their lines; fsynced within 100 ms. While
        lines are held (:meth:`hold`), a frame's line waits with them; a state
        line never waits (it takes the held ones out with it, in order)."""
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._journal_lock:   # the server's thread journals too
            held = self._held
            if held is None:
                self._append_line(line)
                return
            held.append(line)
            if not hold or len(held) >= HELD_LINES:
                self._held = []
                self._append_line(b"".join(held))

    def hold(self) -> None:
        """Frames' lines wait in memory until :meth:`release` (or until
        HELD_LINES of them), then go in one write(2): a server answering a burst
        of requests writes once for the burst, not once per frame. A process
        killed meanwhile loses at most those lines, never a state."""
        if self._held is None:
            with self._journal_lock:
                if self._held is None:
                    self._held = []

    def release(self) -> None:
        """Writes the held lines (one write(2)) and stops holding; a full disk
        is a message, as for any journal line."""
        if self._held is None:
            return
        with self._journal_lock:
            held, self._held = self._held, None
            if held:
                try:
                    self._append_line(b"".join(held))
                except OSError as exc:
                    self._note(f"journal {self.journal_path}: {exc.strerror or exc}")

    def _append_line(self, line: bytes) -> None:
        if self._journal is None:
            _makedirs(self.journal_path.parent)
            self._rotate()
            new = not self.journal_path.exists()
            self._journal = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if new:
                _chown(self.journal_path)
        written = os.write(self._journal, line)
        if written < len(line):  # a full disk mid-line: end the torn line, so the next one reads
            raise OSError(errno.ENOSPC, "No space left on device")
        fd = self._journal
        self.flusher.want("journal", lambda: os.fsync(fd))

    def _note(self, message: str) -> None:
        if message not in self.messages:
            self.messages.append(message)

    def flush(self) -> None:
        """Waits until everything written is on disk, the state file included."""
        self.release()
        self.flusher.flush()

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

    def tail(self, limit: int = 200, containing: str | None = None) -> list[dict[str, Any]]:
        """The last ``limit`` journal records that can be read (those whose line
        holds ``containing``, if given); bad lines are skipped."""
        self.release()   # held lines first: the reader sees every line written so far
        try:
            with open(self.journal_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - limit * 4000))  # a line holds at most a 1514-byte frame in hex
                lines = fh.read().splitlines()
        except OSError:
            return []
        if containing is not None:
            lines = [line for line in lines if containing.encode() in line]
        return _parse_lines(lines[-limit:])

    def records(self, containing: str) -> list[dict[str, Any]]:
        """Every readable journal record (the rotated generation too) whose line contains ``containing``."""
        self.release()
        out: list[dict[str, Any]] = []
        for path in (self.old_journal_path, self.journal_path):
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    out += _parse_lines(line for line in fh if containing in line)
            except OSError:
                continue
        return out

    def close(self) -> None:
        """Writes what is pending (held lines, the state file, the fsyncs), then closes the journal."""
        self.release()
        self.flusher.close()
        if self._journal is not None:
            os.close(self._journal)
            self._journal = None


def _not_a_state(data: Any) -> str | None:
    """Why ``data`` is not a state this version can read (None: it is one)."""
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        return "not a scapy-dhcp state file (no version)"
    if data["version"] > STATE_VERSION:
        return f"written by a newer scapy-dhcp (version {data['version']})"
    return None
