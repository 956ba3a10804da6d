"""The endpoint: one interface, its socket, its history, journal and state file.

Roles sit on top of it and share it: the client role (:class:`~scapy_dhcp_ext.roles.client4.Client4`),
the sweeps and load that drive it, and the server role. An endpoint
knows nothing of DHCP's states; each role keeps its own, and hands the
endpoint a section of the state file to save::

    >>> ep = Endpoint("eth1", state_file=False)
    >>> ep.send(frame, "PROBE")                     # sent and recorded in the history
    >>> ex = ep.exchange(frame, "DISCOVER", xid=xid, chaddr=ep.mac_bytes, timeout=2, done=is_offer)
    >>> ep.sections["sweep"] = lambda: {...}       # what a role saves

The state file is flat JSON: ``iface``, ``mac`` and each role's keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ..errors import DhcpError, StateError, UsageError
from ..link.exchange import Backoff, Exchange
from ..link.transport import Transport
from ..wire import mac_bytes, mac_str
from ..wire.frames4 import Frame
from .history import History
from .signals import defer_sigint
from .store import Store

if TYPE_CHECKING:
    from ..link.transport6 import Transport6

R = TypeVar("R", bound="Role")


def _mac_text(mac: str | bytes) -> str:
    """A MAC as text, or a one-line UsageError that says what one looks like."""
    try:
        return mac_str(mac_bytes(mac))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


class Endpoint:
    """Interface, MAC, socket, history, journal and state file, shared by roles.

    ``state_file=False`` keeps nothing on disk; ``None`` uses the default
    (``$XDG_STATE_HOME/scapy-dhcp/state.json``). ``transport`` is injectable
    (tests give one over a fake socket)."""

    def __init__(self, iface: str | None = None, *, mac: str | None = None, state_file: str | bool | None = None,
                 transport: Transport | None = None, history_limit: int = 10000) -> None:
        self.store: Store | None = None if state_file is False else Store(
            None if state_file in (None, True) else str(state_file))
        self.saved: dict[str, Any] = self.store.load() if self.store is not None else {}
        # One list of messages: the store adds to it later too (a full disk).
        self.messages: list[str] = self.store.messages if self.store else []
        self.history = History(self.store, history_limit)
        self.save_error: str | None = None
        self.sections: dict[str, Callable[[], dict[str, Any]]] = {}
        notes = self.saved.get("notes")
        # Small JSON values a role keeps across restarts (where a sweep got to).
        self.notes: dict[str, Any] = dict(notes) if isinstance(notes, dict) else {}
        self.on_change: list[Callable[[], None]] = []   # a role forgets what belonged to the old link
        self._transport = transport
        self._transport6: Transport6 | None = None
        self._mac = _mac_text(mac) if mac else None
        self._mac_cache: tuple[str, bytes] = ("", b"")
        self.iface: str | None = iface or (transport.iface if transport else None)
        self.named = self.iface is not None   # named for this run, not remembered (serve() needs that)
        saved_iface = self.saved.get("iface")
        self.saved_iface: str | None = saved_iface if isinstance(saved_iface, str) else None
        # The saved roles' state belongs to the saved interface: used only there.
        self.same_link = iface is None or self.saved_iface == self.iface
        if not self.iface and self.saved_iface:
            self.iface = self.saved_iface
        if self.same_link and self._mac is None and isinstance(self.saved.get("mac"), str):
            try:
                self._mac = mac_str(mac_bytes(self.saved["mac"]))
            except ValueError:
                self.messages.append("the saved MAC was unusable; using the interface's")
        if self.same_link:
            self.history.load()
        else:
            self.notes = {}

    # -- identity ---------------------------------------------------------

    @property
    def mac(self) -> str:
        if self._mac is None:
            self._mac = self.transport.link_mac()
        return self._mac

    @mac.setter
    def mac(self, value: str) -> None:
        self._mac = _mac_text(value)
        self._changed()

    @property
    def mac_bytes(self) -> bytes:
        mac = self.mac
        if self._mac_cache[0] != mac:  # read on every frame: parsed once per MAC
            self._mac_cache = (mac, mac_bytes(mac))
        return self._mac_cache[1]

    def use(self, iface: str, mac: str | None = None) -> None:
        """Moves to another interface (its MAC, unless given)."""
        self.named = True
        if iface != self.iface:
            self.close_socket()
            self.iface = iface
            self._transport = self._transport6 = None
            self._mac = _mac_text(mac) if mac else None
            self._changed()
        elif mac:
            self.mac = mac
        self.save()

    def _changed(self) -> None:
        for forget in self.on_change:
            forget()

    def need_iface(self) -> str:
        if not self.iface:
            raise UsageError("no interface: pass --iface NAME (or dhcp.use('eth1'))")
        return self.iface

    @property
    def has_socket(self) -> bool:
        """Whether the transport exists yet (it opens the socket on first use)."""
        return self._transport is not None

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = Transport(self.need_iface())
        return self._transport

    @property
    def has_transport6(self) -> bool:
        return self._transport6 is not None

    @property
    def transport6(self) -> Transport6:
        """The DHCPv6 socket's transport: a second socket on the same interface,
        made the way the v4 one makes its sockets (a remote place's namespace)."""
        if self._transport6 is None:
            from ..link.transport6 import Transport6

            base = self.transport
            self._transport6 = Transport6(base.iface, new_socket=base.new_socket, single_mac=base.single_mac,
                                          clock=base.clock)
        return self._transport6

    # -- frames -----------------------------------------------------------

    def record(self, direction: str, raw: bytes, operation: str, xid: int | None = None) -> None:
        """Adds a frame to the history and the journal ("out", "in" or "ignored")."""
        self.history.record(direction, raw, operation, self.iface, xid)

    def journal(self, direction: str, raw: bytes, operation: str, xid: int | None = None) -> None:
        """Adds a frame to the journal only (a sweep's probes)."""
        self.history.journal(direction, raw, operation, self.iface, xid)

    def send(self, raw: bytes, operation: str, xid: int | None = None) -> float:
        """Sends one frame as it is and records it; returns when it went."""
        t = self.transport.send(raw)
        self.record("out", raw, operation, xid)
        return t

    def exchange(self, frame: bytes | None, operation: str, *, xid: int, chaddr: bytes, timeout: float,
                 done: Callable[[Frame], bool], window: float = 0.0, backoff: Backoff | None = None) -> Exchange:
        """Sends ``frame`` (retransmitted on ``backoff``) and collects the replies
        with this xid and chaddr, every frame recorded; see :meth:`Transport.exchange`."""
        return self.transport.exchange(
            frame, xid=xid, chaddr=chaddr, timeout=timeout, backoff=backoff, window=window, done=done,
            on_send=lambda _t, raw: self.record("out", raw, operation, xid),
            on_receive=lambda f, ours: self.record("in" if ours else "ignored", f.raw, operation, xid))

    # -- state ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"iface": self.iface, "mac": self._mac, "notes": self.notes}
        for section in self.sections.values():
            data.update(section())
        return data

    def save(self, *, now: bool = False) -> None:
        """Saves every role's state (see :class:`.store.Store`: a journal line now,
        the state file within 100 ms, or now); a failure (a full disk) is a
        message, never a lost operation."""
        if self.store is None:
            return
        try:
            with defer_sigint():
                self.store.save(self.to_dict(), now=now)
            self.save_error = None
        except StateError as exc:
            self.save_error = str(exc)
            if self.save_error not in self.messages:
                self.messages.append(self.save_error)

    def flush(self) -> None:
        """Waits until what was saved is on disk (the state file written)."""
        if self.store is not None:
            self.store.flush()

    def close_socket(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self._transport6 is not None:
            self._transport6.close()

    def close(self) -> None:
        self.close_socket()
        if self.store is not None:
            self.store.close()

    def describe_mac(self) -> str:
        if self._mac is not None:
            return self._mac
        if self.iface:
            try:
                return self.transport.link_mac() + " (the interface's)"
            except (OSError, DhcpError):
                pass  # a gone interface: the repr still works
        return "(the interface's)"


class Role:
    """A role on an endpoint (the client; the server to come): the endpoint's
    parts as a user reaches them, ``dhcp.mac``, ``dhcp.history`` and so on."""

    endpoint: Endpoint

    @property
    def iface(self) -> str | None:
        return self.endpoint.iface

    @property
    def saved_iface(self) -> str | None:
        return self.endpoint.saved_iface

    @property
    def mac(self) -> str:
        return self.endpoint.mac

    @mac.setter
    def mac(self, value: str) -> None:
        self.endpoint.mac = value

    @property
    def transport(self) -> Transport:
        return self.endpoint.transport

    @property
    def history(self) -> History:
        return self.endpoint.history

    @property
    def store(self) -> Store | None:
        return self.endpoint.store

    @property
    def messages(self) -> list[str]:
        return self.endpoint.messages

    @property
    def save_error(self) -> str | None:
        return self.endpoint.save_error

    def use(self, iface: str, mac: str | None = None) -> None:
        """Moves to another interface (its MAC, unless given)."""
        self.endpoint.use(iface, mac)

    def close(self) -> None:
        self.endpoint.close()

    def __enter__(self: R) -> R:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
