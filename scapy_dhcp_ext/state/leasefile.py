"""A server's leases on disk: one short CSV line per change, like a lease file.

``serve()`` keeps its lease table here (beside the state file, one file per
interface: ``leases4-eth1.csv``; ``serve6()`` its bindings in ``leases6-eth1.csv``,
in the :data:`V6` format) so that the next server on that
interface, after ``srv.stop()``, a crash or ``kill -9``, knows every binding
it made: a board that renews gets its address back, and no address is bound
to two clients. A change is queued before the reply that made it goes out
and written by a writer thread of the file's own, so that a write that
blocks (a page under writeback) never holds up a request: at once when
the last write is :data:`HOLD` seconds old or more (a bench of boards), and
under a stream of changes :data:`HOLD` seconds after the last write, one
``write(2)`` for all that came meanwhile: a write and a wake of that thread
for each change was a tenth of a busy server's CPU. A process killed loses
the lines of its last :data:`HOLD` seconds at most. ``fsync`` runs in the store's flusher
thread, in batches. Offers are never
written: an offer does not survive a restart (RFC 2131 4.3.1 lets a server
forget it), so a DORA costs one line, its ACK.

The file reads as the changes in order; the last line for an address wins.
When it holds four times more lines than the table has leases it is rewritten
(a temporary file, fsynced, renamed over it), so it stays bounded. A line
that cannot be read (torn by a crash, edited by hand) is skipped and counted;
nothing is ever ``eval``'d.
"""

from __future__ import annotations

import collections
import csv
import functools
import io
import ipaddress
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .files import Flusher, _chown, _makedirs, write_atomically

HEADER = "# scapy-dhcp leases4 v1: t,state,address,mac,expires,client,hostname\n"
FIELDS = ("t", "state", "address", "mac", "expires", "client", "hostname")
STATES = ("bound", "released", "declined", "retired", "expired")
MIN_COMPACT = 4096   # lines before a rewrite is worth it
HOLD = 0.05   # seconds between two writes at least (the fsync comes within Flusher.delay after)
_SPECIAL = re.compile(r'[,"\r\n]')
_MAC = re.compile(r"([0-9a-f]{2}:){5}[0-9a-f]{2}")


@dataclass(frozen=True)
class LeaseFormat:
    """What one family's lease file holds: its header line, how a row reads
    back (None: skipped), which field a record is kept by (the last wins), and
    the usual line as a ``%`` template of the time and the fields (one call
    formats it; a line it does not fit, a hostname with a comma, goes the
    careful way)."""

    header: str
    parse: Callable[[list[str]], dict[str, Any] | None]
    key: Callable[[dict[str, Any]], Any]
    template: str


def lease_file_path(state_path: Path, iface: str, family: str = "4") -> Path:
    """Where ``serve()`` (``family`` "4") or ``serve6()`` ("6") on ``iface`` keeps its leases, beside the state file."""
    safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", iface)
    return state_path.with_name(f"leases{family}-{safe}.csv")


class LeaseFile:
    """Appends lease changes and reads them back; see the module's docstring."""

    def __init__(self, path: Path, flusher: Flusher | None = None, fmt: LeaseFormat | None = None) -> None:
        self.path = path
        self.flusher = flusher or Flusher()
        self.fmt = fmt or V4
        self.lines = 0          # lines in the file (the header not counted), those queued included
        self.skipped = 0        # lines load() could not read
        self.error: str | None = None   # the last write that failed, in words
        self._fd: int | None = None
        self._queue: collections.deque[str | list[str]] = collections.deque()   # a line, or a whole new file
        self._wake = threading.Event()
        self._hurry = threading.Event()   # flush() and close(): a writer that holds writes now
        self._queued = self._done = 0   # items queued (the request path) and written (the writer thread)
        self._writer: threading.Thread | None = None
        self._stop = False

    # -- reading -------------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        """The last record of each address, in file order (skipped lines counted)."""
        self.skipped, self.lines = 0, 0
        last: dict[str, dict[str, Any]] = {}
        try:
            with open(self.path, encoding="utf-8", errors="replace", newline="") as fh:
                for rec in self._records(fh):
                    key = self.fmt.key(rec)
                    last.pop(key, None)   # re-inserted: the dict keeps the order of the last change
                    last[key] = rec
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.error = f"cannot read {self.path}: {exc.strerror or exc}"
            return []
        return list(last.values())

    def _records(self, fh: Iterable[str]) -> Iterator[dict[str, Any]]:
        for row in csv.reader(line for line in fh if not line.startswith("#")):
            self.lines += 1
            rec = self.fmt.parse(row)
            if rec is None:
                self.skipped += 1
            else:
                yield rec

    # -- writing (the request path only queues; the writer thread writes) -----

    def append(self, *fields: str | float | int) -> None:
        """One change, one line (v4: state, address, mac, expires, client,
        hostname): queued here, written by the writer thread (at once, or
        under a stream within :data:`HOLD` seconds), fsynced within 50 ms after.
        A write that blocks (a page under writeback) blocks that thread, never
        the request path; a full disk is kept in ``error``, never raised."""
        self._queue.append(_line(time.time(), fields, self.fmt.template))
        self.lines += 1
        self._kick()

    def rewrite(self, records: Iterable[tuple[str | float | int, ...]]) -> None:
        """The file as ``records`` (each the fields of one :meth:`append`) say,
        written by the writer thread in its turn, atomically (a temporary file,
        fsynced, renamed): the lines queued before it are in the records
        already; those after it go to the new file."""
        now = time.time()
        template = self.fmt.template
        body = [_line(now, r, template) for r in records]
        self._queue.append(body)
        self.lines = len(body)
        self._kick()

    def wants_rewrite(self, live: int) -> bool:
        return self.lines > max(MIN_COMPACT, 4 * live)

    def flush(self) -> None:
        """Returns once every line queued so far is written, and fsynced."""
        want, deadline = self._queued, time.monotonic() + 10.0
        self._hurry.set()
        while self._done < want and time.monotonic() < deadline:
            time.sleep(0.001)
        self.flusher.flush()

    def close(self) -> None:
        """Writes what is queued, stops the writer thread, fsyncs and closes the file."""
        if self._writer is not None:
            self._stop = True
            self._wake.set()
            self._hurry.set()
            self._writer.join(10.0)
            self._writer, self._stop = None, False
        self._drain()
        self._close_fd()

    def _kick(self) -> None:
        self._queued += 1
        if self._writer is None:
            self._writer = threading.Thread(target=self._run, name="scapy-dhcp leases", daemon=True)
            self._writer.start()
        if not self._wake.is_set():
            self._wake.set()

    def _run(self) -> None:
        last = -HOLD
        while not self._stop:
            self._wake.wait()
            hold = last + HOLD - time.monotonic()
            if hold > 0 and not self._stop:   # a stream: what comes meanwhile goes in the same write(2)
                self._hurry.wait(hold)
                self._hurry.clear()
            self._wake.clear()   # before the drain: a line queued during it wakes the next turn
            self._drain()
            last = time.monotonic()

    def _drain(self) -> None:
        lines: list[str] = []
        taken = 0
        while self._queue:
            item = self._queue.popleft()
            taken += 1
            if isinstance(item, list):   # a new file: what is queued before it is in it
                lines = []
                self._replace(item)
            else:
                lines.append(item)
        if lines:
            self._write("".join(lines).encode())
        self._done += taken

    def _write(self, data: bytes) -> None:
        try:
            fd = self._open()
            if os.write(fd, data) < len(data):
                raise OSError(28, "No space left on device")
            self.flusher.want(f"leases {self.path}", functools.partial(self._sync, fd))
        except OSError as exc:
            self.error = f"lease file {self.path}: {exc.strerror or exc}"

    def _replace(self, body: list[str]) -> None:
        self._close_fd()   # the next write opens the new file
        try:
            write_atomically(self.path, (self.fmt.header + "".join(body)).encode(),
                             self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp"))
        except OSError as exc:
            self.error = f"lease file {self.path}: {exc.strerror or exc}"

    def _sync(self, fd: int) -> None:
        if fd == self._fd:
            try:
                os.fsync(fd)
            except OSError:
                pass   # closed meanwhile: closing fsynced it

    def _open(self) -> int:
        if self._fd is None:
            _makedirs(self.path.parent)
            new = not self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if new:
                os.write(self._fd, self.fmt.header.encode())
                _chown(self.path)
        return self._fd

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            except OSError:
                pass
            os.close(fd)


def _line(t: float, fields: tuple[str | float | int, ...], template: str) -> str:
    """One line: the format's template when the fields fit it and hold nothing to quote (one call,
    no csv module on the request path), else the csv writer's (a hostname with a comma or a
    newline: quoted, cut at 255)."""
    try:
        line = template % (t, *fields)
    except TypeError:   # a field of another type: the careful way
        line = ""
    if line.count(",") == len(fields) and '"' not in line and "\r" not in line and line.find("\n") == len(line) - 1:
        return line
    parts = [f"{t:.3f}"] + [f"{x:.3f}" if isinstance(x, float) else str(x) for x in fields]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [p.replace("\r", " ").replace("\n", " ")[:255] if _SPECIAL.search(p) else p for p in parts])
    return out.getvalue()


def _parse4(row: list[str]) -> dict[str, Any] | None:
    if len(row) != len(FIELDS) or row[1] not in STATES:
        return None
    try:
        t, expires = float(row[0]), float(row[4])
    except ValueError:
        return None
    address, mac = row[2], row[3]
    try:
        address = str(ipaddress.IPv4Address(address))
    except ValueError:
        return None
    if not _MAC.fullmatch(mac):
        return None
    return {"t": t, "state": row[1], "address": address, "mac": mac, "expires": expires, "client": row[5],
            "hostname": row[6]}


V4 = LeaseFormat(HEADER, _parse4, lambda rec: rec["address"], "%.3f,%s,%s,%s,%.3f,%s,%s\n")

HEADER6 = "# scapy-dhcp leases6 v1: t,state,kind,address,prefix_len,duid,iaid,expires,mac\n"
STATES6 = ("bound", "released", "declined", "expired")


def _parse6(row: list[str]) -> dict[str, Any] | None:
    """A serve6() binding: an IA_NA address or an IA_PD prefix, its client's DUID (hex) and IAID."""
    if len(row) != 9 or row[1] not in STATES6 or row[2] not in ("NA", "PD"):
        return None
    try:
        t, expires = float(row[0]), float(row[7])
        prefix_len, iaid = int(row[4]), int(row[6])
        address = str(ipaddress.IPv6Address(row[3]))
        bytes.fromhex(row[5])
    except ValueError:
        return None
    if not (0 <= prefix_len <= 128 and 0 <= iaid < 1 << 32 and row[5]) or (row[8] and not _MAC.fullmatch(row[8])):
        return None
    return {"t": t, "state": row[1], "kind": row[2], "address": address, "prefix_len": prefix_len,
            "duid": row[5].lower(), "iaid": iaid, "expires": expires, "mac": row[8]}


V6 = LeaseFormat(HEADER6, _parse6, lambda rec: (rec["kind"], rec["address"]), "%.3f,%s,%s,%s,%d,%s,%d,%.3f,%s\n")
