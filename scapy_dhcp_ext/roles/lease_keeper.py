"""A server's lease table kept on disk, so that leases outlive the process.

``serve()`` (and ``serve6()``) on an interface, with a state file, restores what
the last server there bound (:mod:`~scapy_dhcp_ext.state.leasefile`: a lease
file of one line per change), then writes each change as it is decided, before
the reply goes. Offers are not kept: a restarted server forgets them, as
RFC 2131 4.3.1 (and RFC 8415 18.3.1, an ADVERTISE commits nothing) allows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..state.history import History
from ..state.leasefile import V6, LeaseFile, LeaseFormat, lease_file_path
from .leases4 import OFFER_HOLD, ServerLease
from .leases6 import Binding6

if TYPE_CHECKING:
    from ..state.endpoint import Endpoint

Row = tuple[Any, ...]


class LeaseKeeper:
    """A v4 lease table and its lease file; see the module's docstring."""

    family, op, noun = "4", "SERVE", "leases"
    fmt: LeaseFormat | None = None   # the file's own default (v4)

    def __init__(self, table: Any, lease_file: LeaseFile, history: History, iface: str) -> None:
        self.table = table
        self.file = lease_file
        self.history = history
        self.iface = iface

    @classmethod
    def on(cls, endpoint: Endpoint, table: Any, history: History) -> Any:
        """The keeper for a server on ``endpoint``; None when it has no state file or no interface."""
        store = endpoint.store
        if store is None or not endpoint.iface:
            return None
        return cls(table, LeaseFile(lease_file_path(store.path, endpoint.iface, cls.family), store.flusher, cls.fmt),
                   history, endpoint.iface)

    def restore(self, take: bool = True) -> int:
        """Takes back what the file holds (nothing when ``take`` is off), rewrites it to
        what the table now holds, and from then on writes every change. Returns how many came back."""
        records = self.file.load() if take else []
        taken, notes = self.table.restore(records)
        if self.file.skipped and take:
            notes.append(f"{self.file.skipped} unreadable lines skipped")
        if records or notes:
            self.history.record("in", b"", self.op, self.iface, None,
                                f"restored {taken} {self.noun} from {self.file.path}"
                                + (f" ({'; '.join(notes)})" if notes else ""))
        self.file.rewrite(self.rows())
        self.table.on_change = self.changed
        return taken

    def rows(self) -> list[Row]:
        """What the file keeps: every binding (an address offered again to the
        client bound to it is still its binding), declined and retired addresses."""
        now, out = self.table.clock(), []
        for x in self.table.by_address.values():
            state = x.state
            if state == "offered":
                if x.expires <= now + OFFER_HOLD:
                    continue   # a plain offer: not kept
                state = "bound"
            out.append((state, *self.fields(x)[1:]))
        return out

    @staticmethod
    def fields(lease: Any) -> Row:
        """One lease as a line of the file: state, address, mac, expires, client, hostname."""
        return (lease.state, lease.address, lease.mac, lease.expires, lease.client, lease.hostname)

    def changed(self, lease: ServerLease | Binding6) -> None:
        self.file.append(*self.fields(lease))
        if self.file.wants_rewrite(self.table.size):
            self.file.rewrite(self.rows())

    def close(self) -> None:
        self.table.on_change = None
        self.file.close()


class LeaseKeeper6(LeaseKeeper):
    """serve6()'s bindings (IA_NA addresses and IA_PD prefixes) and their lease file."""

    family, op, noun, fmt = "6", "SERVE6", "bindings", V6

    def rows(self) -> list[Row]:
        return [self.fields(b) for b in self.table if b.state != "offered"]

    @staticmethod
    def fields(lease: Any) -> Row:
        """One binding as a line of the file: state, kind, address, length, DUID, IAID, end, MAC."""
        return (lease.state, lease.kind, lease.address, lease.prefix_len, lease.duid, lease.iaid, lease.expires,
                lease.mac)
