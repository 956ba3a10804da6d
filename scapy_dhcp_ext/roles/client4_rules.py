"""The client role's pure parts: its states and what moves them (RFC 2131 4.4
and figure 5), which offer a REQUEST takes, where a RELEASE or DECLINE goes,
and the words of a timeout. No sockets, no I/O: :mod:`.client4` does that.
"""

from __future__ import annotations

from enum import Enum

from ..errors import UsageError
from ..wire import BROADCAST_MAC, mac_bytes
from .results4 import Lease, Offer, Result


class ClientState(str, Enum):
    """RFC 2131 figure 5's client states. Each compares equal to its name."""

    INIT = "INIT"
    SELECTING = "SELECTING"
    REQUESTING = "REQUESTING"
    BOUND = "BOUND"
    RENEWING = "RENEWING"
    REBINDING = "REBINDING"
    INIT_REBOOT = "INIT-REBOOT"
    REBOOTING = "REBOOTING"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


S = ClientState
# What each event does to the state (RFC 2131 4.4). A test tool forbids nothing:
# an event with no row here leaves the state as it is.
TRANSITIONS: dict[tuple[str, str], ClientState] = {
    ("*", "discover"): S.SELECTING,
    ("*", "no-offer"): S.INIT,
    ("*", "request-offer"): S.REQUESTING,
    ("*", "request-address"): S.REBOOTING,
    ("*", "renew"): S.RENEWING,
    ("*", "rebind"): S.REBINDING,
    ("*", "ack"): S.BOUND,
    ("*", "nak"): S.INIT,
    ("*", "release"): S.INIT,
    ("*", "decline"): S.INIT,
    ("*", "reset"): S.INIT,
    (S.REQUESTING, "timeout"): S.INIT,
    (S.REBOOTING, "timeout"): S.INIT,
    (S.RENEWING, "timeout"): S.BOUND,
    (S.REBINDING, "timeout"): S.BOUND,
}


def next_state(state: ClientState, event: str, *, has_lease: bool = False) -> ClientState:
    """The client's state after ``event``. A request that times out while a
    lease is still held goes back to BOUND: the lease has not ended."""
    new = TRANSITIONS.get((state, event)) or TRANSITIONS.get(("*", event)) or state
    if event == "timeout" and new == S.INIT and has_lease:
        return S.BOUND
    return new


def choose_offer(offers: list[Offer], address: str | None, offer: Offer | int | None) -> Offer | None:
    """The offer a REQUEST takes: the one given, the one at that index, the one
    for ``address``, or the first; None when there is none to take."""
    if isinstance(offer, Offer):
        return offer
    if isinstance(offer, int):
        if not offers:
            raise UsageError("no offer in hand: run discover() first")
        try:
            return offers[offer]
        except IndexError:
            raise UsageError(f"there are {len(offers)} offers; pick 0..{len(offers) - 1}") from None
    if address is None:
        return offers[0] if offers else None
    return next((o for o in offers if o.address == address), None)


def target(lease: Lease | None, address: str | None, server_id: str | None,
           what: str) -> tuple[str, str | None, bytes]:
    """Address, server id and server MAC for a RELEASE or DECLINE: the lease's,
    unless given."""
    if address is None:
        if lease is None:
            raise UsageError(f"no lease to {what}: run dora() first, or {what}(address=..., server_id=...)")
        address = lease.address
    if lease is not None and lease.address == address:
        server_id = server_id or lease.server_id
        mac = mac_bytes(lease.server_mac) if lease.server_mac else BROADCAST_MAC
    else:
        mac = BROADCAST_MAC
    return address, server_id, mac


def timeout_message(result: Result, expected: str, iface: str | None) -> str:
    tries = len(result.sent)
    heard = f"; {len(result.received)} other replies" if result.received else ""
    foreign = f"; {len(result.ignored)} replies for other clients ignored" if result.ignored else ""
    xid = f"{result.xid:#010x}" if result.xid is not None else "-"
    return (f"no {expected} on {iface} for {result.operation} xid {xid} "
            f"({tries} sent{heard}{foreign}); raise timeout= or check the server")
