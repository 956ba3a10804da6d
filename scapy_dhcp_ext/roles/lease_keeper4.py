"""The server's lease table kept on disk, so that leases outlive the process.

``serve()`` on an interface, with a state file, restores what the last
``serve()`` there bound (:mod:`~scapy_dhcp_ext.state.leasefile`: a lease file
of one line per change), then writes each change as it is decided, before the
reply goes. Offers are not kept: a restarted server forgets them, as RFC 2131
4.3.1 allows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..state.history import History
from ..state.leasefile import LeaseFile, lease_file_path
from .leases4 import OFFER_HOLD, LeaseTable, ServerLease

if TYPE_CHECKING:
    from ..state.endpoint import Endpoint


class LeaseKeeper:
    """A lease table and its lease file; see the module's docstring."""

    def __init__(self, table: LeaseTable, lease_file: LeaseFile, history: History, iface: str) -> None:
        self.table = table
        self.file = lease_file
        self.history = history
        self.iface = iface

    @classmethod
    def on(cls, endpoint: Endpoint, table: LeaseTable, history: History) -> LeaseKeeper | None:
        """The keeper for a server on ``endpoint``; None when it has no state file or no interface."""
        store = endpoint.store
        if store is None or not endpoint.iface:
            return None
        return cls(table, LeaseFile(lease_file_path(store.path, endpoint.iface), store.flusher), history,
                   endpoint.iface)

    def restore(self) -> int:
        """Takes back what the file holds, rewrites it to what the table now
        holds, and from then on writes every change. Returns how many leases came back."""
        records = self.file.load()
        taken, notes = self.table.restore(records)
        if self.file.skipped:
            notes.append(f"{self.file.skipped} unreadable lines skipped")
        if records or notes:
            self.history.record("in", b"", "SERVE", self.iface, None,
                                f"restored {taken} leases from {self.file.path}"
                                + (f" ({'; '.join(notes)})" if notes else ""))
        self.file.rewrite(self.bindings())
        self.table.on_change = self.changed
        return taken

    def bindings(self) -> list[tuple[str, str, str, float, str, str]]:
        """What the file keeps: every binding (an address offered again to the
        client bound to it is still its binding), declined and retired addresses."""
        now, out = self.table.clock(), []
        for x in self.table.by_address.values():
            state = x.state
            if state == "offered":
                if x.expires <= now + OFFER_HOLD:
                    continue   # a plain offer: not kept
                state = "bound"
            out.append((state, x.address, x.mac, x.expires, x.client, x.hostname))
        return out

    def changed(self, lease: ServerLease) -> None:
        self.file.append(lease.state, lease.address, lease.mac, lease.expires, lease.client, lease.hostname)
        if self.file.wants_rewrite(len(self.table.by_address)):
            self.file.rewrite(self.bindings())

    def close(self) -> None:
        self.table.on_change = None
        self.file.close()
