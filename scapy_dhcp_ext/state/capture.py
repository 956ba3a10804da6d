"""A pcapng ring: every frame a server saw and sent, each with its note as the
frame's comment, in files of bounded size.

``serve(capture="serve.pcapng")`` writes here; Wireshark and tshark read it
(``tshark -r serve.pcapng -T fields -e frame.comment``). Each frame is one
``write(2)``, so a killed process loses none. Past ``limit`` bytes the file
becomes ``serve.pcapng.1`` (the one before is dropped) and a new one starts:
a server that runs for days keeps at most twice ``limit`` on disk.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

LIMIT = 64 << 20
LINKTYPE_ETHERNET = 1
_SHB = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
_IDB = struct.pack("<IIHHII", 1, 20, LINKTYPE_ETHERNET, 0, 0, 20)   # snaplen 0: no limit; microseconds


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def epb(t: float, raw: bytes, comment: str = "") -> bytes:
    """One Enhanced Packet Block: the frame at time ``t`` (seconds), with ``comment`` (opt_comment)."""
    us = int(t * 1_000_000)
    options = b""
    if comment:
        text = comment.encode("utf-8", "replace")[:65000]
        options = struct.pack("<HH", 1, len(text)) + _pad(text) + struct.pack("<HH", 0, 0)
    body = struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(raw), len(raw)) + _pad(raw) + options
    length = 12 + len(body)
    return struct.pack("<II", 6, length) + body + struct.pack("<I", length)


class PcapngRing:
    """Frames to ``path`` as pcapng, rotated past ``limit`` bytes; see the module's docstring."""

    def __init__(self, path: str | os.PathLike[str], limit: int = LIMIT) -> None:
        self.path = Path(path)
        self.limit = limit
        self.error: str | None = None
        self._fd: int | None = None
        self._size = 0

    def write(self, t: float, raw: bytes, comment: str = "") -> None:
        """One frame; a full disk is kept in ``error`` and never raised to the caller."""
        if not raw:
            return
        try:
            if self._fd is None or self._size > self.limit:
                self._start()
            assert self._fd is not None
            block = epb(t, raw, comment)
            self._size += os.write(self._fd, block)
        except OSError as exc:
            self.error = f"capture {self.path}: {exc.strerror or exc}"

    def _start(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._size = os.write(self._fd, _SHB + _IDB)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
