"""What a user's hooks on the server role hand back, made into frames to send.

``on_reply(request, reply)`` and the reply sweep's ``mutate`` return a packet or
bytes, None (drop), a list (several), a number of seconds (send it late) or
``(seconds, packet)``: :func:`normalise_replies` turns each into (delay, bytes).
A reply held by ``intercept=True`` is a :class:`Held` until ``pkt_send()``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..errors import DhcpTimeout, UsageError
from ..wire import mac_str
from ..wire.frames4 import Frame, parse_frame


@dataclass
class Held:
    """A reply held by ``intercept=True``: the request it answers and its bytes."""

    request: Frame
    reply: bytes

    @property
    def packet(self) -> Any:
        return parse_frame(self.reply).packet

    def __repr__(self) -> str:
        return f"<held {parse_frame(self.reply).summary()} for {mac_str(self.request.chaddr)}>"


def _as_bytes(item: Any) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)
    if hasattr(item, "packet") and not hasattr(item, "fields"):
        item = item.packet   # an Edited copy from pkt_edit()
    return bytes(item)


def normalise_replies(got: Any, raw: bytes) -> list[tuple[float, bytes]]:
    """What a hook returned, as (delay, bytes) items: None drops, a number delays."""
    if got is None:
        return []
    if isinstance(got, bool):
        return [(0.0, raw)] if got else []
    if isinstance(got, (int, float)):
        return [(float(got), raw)]
    if isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], (int, float)):
        return [(float(got[0]), _as_bytes(got[1]))]
    if isinstance(got, list):
        return [x for item in got for x in normalise_replies(item, raw)]
    return [(0.0, _as_bytes(got))]


def shift(delay: float, items: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    return [(delay + d, b) for d, b in items]


class HeldReplies:
    """The server's side of ``intercept=True``: the replies it holds, let go one by one."""

    held: list[Held]
    requests: int

    def send(self, raw: bytes, note: str = "", *, xid: int | None = None) -> None:
        raise NotImplementedError

    def send_held(self, pkt: Any = None) -> Any:
        """Lets the oldest held reply go, as it was or as ``pkt`` (edited)."""
        if not self.held:
            raise UsageError("no reply is held: serve(intercept=True) holds them")
        held = self.held.pop(0)
        raw = held.reply if pkt is None else (bytes(pkt) if not hasattr(pkt, "packet") else bytes(pkt.packet))
        self.send(raw, "released from intercept")
        return parse_frame(raw)

    def wait_held(self, timeout: float = 10.0) -> Held:
        """The oldest held reply, once there is one (``intercept=`` on)."""
        deadline = time.monotonic() + timeout
        while not self.held:
            if time.monotonic() > deadline:
                raise DhcpTimeout(f"no reply held within {timeout} s ({self.requests} requests seen)")
            time.sleep(0.02)
        return self.held[0]

    def drop_held(self) -> int:
        n, self.held = len(self.held), []
        return n
