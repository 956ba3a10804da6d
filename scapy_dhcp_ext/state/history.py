"""The history of one session: every frame sent and received, in memory (the
last ``limit``) and in the journal on disk (all of them, one JSON line each).

``dhcp.history`` reads like a list of :class:`HistoryEntry`::

    >>> dhcp.history[-1]
    13:47:03.427 <- REQUEST   ACK 10.77.0.120 from 10.77.0.1
    >>> [h.frame.type_name for h in dhcp.history if h.direction == "in"]
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterator

from ..wire import FRAME_CHADDR, FRAME_XID
from ..wire.frames4 import parse_any
from .store import Store


@dataclass
class HistoryEntry:
    """One frame sent ("out"), received ("in") or received and not ours ("ignored")."""

    time: float
    direction: str
    raw: bytes
    operation: str = ""
    note: str = ""       # why, in words (the server's decision, a request's problems)

    @cached_property
    def frame(self) -> Any:   # a Frame, or a v6 Frame6
        return parse_any(self.raw, self.time)

    @property
    def packet(self) -> Any:
        return self.frame.packet

    def __repr__(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.time)) + f".{int(self.time * 1000) % 1000:03d}"
        arrow = {"out": "->", "in": "<-"}.get(self.direction, "<x")
        note = f"  [{self.note}]" if self.note else ""
        return f"{stamp} {arrow} {self.operation:9} {self.frame.summary()}{note}"


class History:
    """The last ``limit`` frames in memory; every frame in the store's journal."""

    def __init__(self, store: Store | None, limit: int = 10000) -> None:
        self.store = store
        self.entries: collections.deque[HistoryEntry] = collections.deque(maxlen=limit)
        self.recorded = 0   # frames recorded so far: where an operation began, for a partial result
        self.tap: Callable[[HistoryEntry], None] | None = None   # sees each entry too (a capture file)

    def record(self, direction: str, raw: bytes, operation: str, iface: str | None, xid: int | None,
               note: str = "") -> HistoryEntry:
        self.recorded += 1
        entry = HistoryEntry(time.time(), direction, raw, operation, note)
        self.entries.append(entry)
        if self.tap is not None:
            self.tap(entry)
        if self.store is not None:
            self.journal(direction, raw, operation, iface, xid, note)
        return entry

    def journal(self, direction: str, raw: bytes, operation: str, iface: str | None, xid: int | None,
                note: str = "") -> None:
        """To the journal only (a sweep's probes: on disk, not pushing frames out of memory)."""
        if self.store is not None:
            record = {"t": round(time.time(), 6), "dir": direction, "op": operation,
                      "iface": iface, "xid": xid, "hex": raw.hex()}
            if note:
                record["note"] = note
            self.store.append(record)

    def since(self, mark: int) -> list[HistoryEntry]:
        """The entries recorded after ``recorded`` was ``mark`` (those still in memory)."""
        count = min(self.recorded - mark, len(self.entries))
        return list(self.entries)[len(self.entries) - count:] if count > 0 else []

    def load(self) -> None:
        """The journal's last lines, so that the last frames survive a restart."""
        for rec in self.store.tail() if self.store else []:
            if str(rec.get("op", "")).startswith("SERVE"):
                continue   # the server role's log, not this history
            try:
                self.entries.append(HistoryEntry(float(rec["t"]), str(rec["dir"]), bytes.fromhex(rec["hex"]),
                                                 str(rec.get("op", "")), str(rec.get("note", ""))))
            except (KeyError, TypeError, ValueError):
                continue

    def records(self, containing: str) -> list[dict[str, Any]]:
        """Journal records whose line holds ``containing`` (from memory without a store)."""
        if self.store is not None:
            return self.store.records(containing)
        return [{"op": h.operation, "dir": h.direction} for h in self.entries if containing in h.operation]

    def last(self, direction: str | None = None) -> HistoryEntry | None:
        return next((h for h in reversed(self.entries) if direction is None or h.direction == direction), None)

    def last_xid(self, chaddr: bytes) -> int | None:
        """The xid of the last request from ``chaddr`` (a BOOTP frame's), or None."""
        return next((int.from_bytes(h.raw[FRAME_XID:FRAME_XID + 4], "big") for h in reversed(self.entries)
                     if h.direction == "in" and h.raw[FRAME_CHADDR:FRAME_CHADDR + 6] == chaddr), None)

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __reversed__(self) -> Iterator[HistoryEntry]:
        return reversed(self.entries)

    def __getitem__(self, index: int) -> HistoryEntry:
        return self.entries[index]

    def __repr__(self) -> str:
        shown = list(self.entries)[-20:]
        more = f"... {len(self.entries) - len(shown)} earlier\n" if len(self.entries) > len(shown) else ""
        return more + "\n".join(repr(h) for h in shown) if shown else "(no frames yet)"
