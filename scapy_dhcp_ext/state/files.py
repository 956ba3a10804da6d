"""Files written the careful way: atomically (a temporary file, fsynced,
renamed, the folder fsynced), fsynced off the caller's path in batches
(:class:`Flusher`), and, under sudo, owned by the invoking user."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable


def _sudo_owner() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if uid and gid and uid.isdigit() and gid.isdigit() and int(uid) != 0:
        return int(uid), int(gid)
    return None


def _chown(path: Path) -> None:
    owner = _sudo_owner()
    if owner is not None:
        try:
            os.chown(path, *owner)
        except OSError:
            pass


class Flusher:
    """fsyncs what a store wrote, off the caller's path: at most ``delay``
    seconds after the write, every file written meanwhile in one batch."""

    def __init__(self, delay: float = 0.05, on_error: Callable[[str], None] | None = None) -> None:
        self.delay = delay
        self.on_error = on_error or (lambda _message: None)
        self._pending: dict[str, Callable[[], None]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False

    def want(self, key: str, sync: Callable[[], None]) -> None:
        with self._cond:
            self._pending[key] = sync
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="scapy-dhcp fsync", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop and not self._pending:
                    return
            time.sleep(self.delay)  # what is written meanwhile joins this batch
            self.flush()

    def flush(self) -> None:
        with self._cond:
            batch, self._pending = self._pending, {}
        for sync in batch.values():
            try:
                sync()
            except OSError as exc:
                self.on_error(f"writing state or journal to disk: {exc.strerror or exc}")

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()
        self._stop = False


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, tmp: Path) -> None:
    """``path`` holds ``data`` or what it held before, never a part: written to
    ``tmp``, fsynced, renamed over it, the folder fsynced (the rename survives a
    power cut). OSError is raised with the old file in place and no ``tmp`` left."""
    try:
        _makedirs(path.parent)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        _chown(tmp)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(path.parent)


def _makedirs(folder: Path) -> None:
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    for p in missing:
        _chown(p)
