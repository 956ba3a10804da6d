"""The shell's helpers: the session's operations, and packet dump, edit and send.

One place makes the names every front end shares (``scapy-dhcp`` and its
``-c``, the IPython extension, Scapy's startup file), each bound to the one
session. Like the CLI, this is an adapter: the prompt_toolkit editor is
imported only when it opens.
"""

from __future__ import annotations

import functools
import sys
import warnings
from typing import Any, Callable

from ..errors import UsageError, old_keyword
from ..session import DhcpSession
from ..wire.pkedit import Edited, quick_edit
from ..wire.pktools import EditError, diff, dump, to_packet, write_pcap

OPERATIONS = ("discover", "request", "dora", "release", "inform", "decline", "renew", "rebind",
              "sweep_lengths", "sweep_malformed", "load", "serve",
              "sweep_replies", "check_server", "check_client")
# The v6 client's operations, bound to dhcp.v6 (the same endpoint): on dhcp.v6 a method has no "6",
# as a helper in the shell every one has it (renew6() beside the v4 renew()).
OPERATIONS6 = ("solicit", "request", "sarr", "renew", "rebind", "release", "decline", "confirm", "info_request",
               "sweep_lengths", "sweep_malformed", "load", "serve", "sweep_replies", "check_server", "check_client")
# Helpers that had no "6" before the rule, kept one release: they warn and run the new one.
RENAMED6 = {"solicit": "solicit6", "sarr": "sarr6", "info_request": "info_request6"}
VIEWS = ("compact", "show", "hex", "summary", "raw", "ls")


class Text(str):
    """Text that shows as itself at a prompt (no quotes) and as <pre> in Jupyter."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self)}</pre>"


def can_open_editor() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


class PacketTools:
    """``pkt_dump``, ``pkt_edit``, ``pkt_send`` over one session."""

    def __init__(self, session: DhcpSession, *, editor: Callable[[Any], Any] | None = None) -> None:
        self.session = session
        self.editor = editor

    def default_packet(self, pkt: Any, what: str) -> Any:
        """``pkt``, or the session's last packet sent (``what="sent"``) or seen."""
        if pkt is not None:
            return pkt
        held = self._held()
        if held and what == "sent":
            return held[0].packet   # serve(intercept=True): the reply waiting to go
        found = self.session.last_sent() if what == "sent" else self.session.last_frame()
        if found is None:
            raise UsageError("no packet yet: give one, or run discover() first")
        return found

    def _held(self) -> list[Any]:
        server = getattr(self.session, "server", None)
        return server.held if server is not None and server.running else []

    def _received(self, back: int) -> Any:
        replies = [h for h in self.session.history if h.direction == "in"]
        if len(replies) < back:
            raise UsageError(f"--diff needs {back} replies received; give two packets: %pkt_dump A --diff B")
        return replies[-back].packet

    def pkt_dump(self, pkt: Any = None, view: str = "compact", *, diff_with: Any = None,
                 diff_last: bool = False, pcap: str | None = None) -> Text:
        """The packet as text (views: compact, show, hex, summary, raw, ls); without
        ``pkt``, the last packet sent or received. ``diff_with`` compares field by
        field; ``diff_last`` compares with the last reply (without ``pkt``: the
        last two replies). ``pcap`` writes a capture (without ``pkt``: the whole
        history) that Wireshark and tshark open.

        >>> pkt_dump(r, "hex")
        >>> pkt_dump(offer, diff_with=ack)
        """
        try:
            if pcap is not None:
                packets = pkt if pkt is not None else [h.packet for h in self.session.history]
                if not packets:
                    raise UsageError("nothing to write: the history is empty")
                return Text(f"wrote {write_pcap(packets, pcap)}")
            if diff_with is not None or diff_last:
                if diff_with is None:
                    a, b = (self._received(2), self._received(1)) if pkt is None else (pkt, self._received(1))
                else:
                    a, b = self.default_packet(pkt, "any"), diff_with
                return Text(diff(a, b))
            if view not in VIEWS:
                raise UsageError(f"unknown view {view!r}: {', '.join(VIEWS)}")
            return Text(dump(self.default_packet(pkt, "any"), view))
        except EditError as exc:
            raise UsageError(str(exc)) from None

    def pkt_edit(self, pkt: Any = None, *assignments: str) -> Any:
        """An edited copy of ``pkt`` (default: the last packet sent), kept as the
        next packet ``pkt_send()`` sends. With assignments (``"BOOTP.hops=3"``,
        ``"DHCP.hostname=probe"``, ``"-DHCP.hostname"``) no screen opens; without,
        the full-screen editor does. The original is untouched. The copy shows
        as ``pkt_dump()`` shows it; ``.packet`` is the Scapy packet.

        >>> pkt_edit(None, "BOOTP.hops=3", "IP.len=999")
        """
        original = self.default_packet(pkt, "sent")
        try:
            if assignments:
                new = quick_edit(original, assignments)
            else:
                if self.editor is None:
                    raise UsageError("no terminal for the editor: give assignments, e.g. "
                                     "pkt_edit(None, 'BOOTP.hops=3')")
                new = self.editor(to_packet(original))
                if new is None:
                    return None  # cancelled: nothing changes
        except EditError as exc:
            raise UsageError(str(exc)) from None
        edited = Edited(to_packet(new))
        self.session.next_packet = edited
        return edited

    def pkt_send(self, pkt: Any = None, count: int = 1, timeout: float | None = None, *,
                 wait: float | None = None) -> Any:
        """Sends ``pkt`` (default: the last edited packet, else the last sent)
        ``count`` times through the session's socket and collects the replies.

        >>> pkt_send(timeout=1.0).received

        While ``serve(intercept=True)`` holds replies, it lets the oldest go
        instead: as edited by ``pkt_edit()``, or as it was.
        """
        server = self.session.server
        if server is not None and self._held() and pkt is None:
            edited, self.session.next_packet = self.session.next_packet, None
            return server.send_held(edited)
        timeout = old_keyword("pkt_send", "wait", "timeout", wait, timeout)
        return self.session.send_packet(pkt, count=count, timeout=timeout)


def terminal_editor(pkt: Any) -> Any:
    from .editor import edit_packet

    return edit_packet(pkt)


def make_tools(session: DhcpSession) -> PacketTools:
    return PacketTools(session, editor=terminal_editor if can_open_editor() else None)


def _renamed_helper(old: str, new: str, helper: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(helper)
    def call(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"{old}() is {new}() now; the old name goes in the next release", DeprecationWarning,
                      stacklevel=2)
        return helper(*args, **kwargs)
    call.__name__ = old
    return call


def make_helpers(session: DhcpSession, tools: PacketTools | None = None) -> dict[str, Any]:
    """Every name the shell adds: the operations, the packet tools, ``dhcp``, and
    the classes a user types (``Backoff.rfc2131()``, ``MessageOptions``, ``Lab``)."""
    tools = tools or make_tools(session)
    from ..lab import Lab
    from ..link.exchange import Backoff
    from ..link.transport6 import Retransmit6
    from ..wire.messages4 import MessageOptions
    from ..wire.messages6 import Relay6

    names: dict[str, Any] = {name: getattr(session, name) for name in OPERATIONS}
    names.update({name + "6": getattr(session.v6, name) for name in OPERATIONS6})
    names.update({old: _renamed_helper(old, new, names[new]) for old, new in RENAMED6.items()})
    names.update(Relay6=Relay6, Retransmit6=Retransmit6)
    names.update(pkt_dump=tools.pkt_dump, pkt_edit=tools.pkt_edit, pkt_send=tools.pkt_send, dhcp=session,
                 Backoff=Backoff, MessageOptions=MessageOptions, DhcpSession=DhcpSession, Lab=Lab)
    return names
