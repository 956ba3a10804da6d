"""What the helpers return: a lease, offers, and the result of one operation.

Each prints as compact text in a terminal and as an HTML table in Jupyter;
the raw frames are kept, and turned into Scapy packets when asked for.
"""

from __future__ import annotations

import html
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from ..wire import mac_str
from ..wire.frames4 import Frame, parse_any

MAX_LINES = 40  # frames shown in a result's text; a flood is summed up

# The word each outcome had before v4 and v6 shared one vocabulary: they still
# compare equal for one release, with a DeprecationWarning naming the new word.
_OLD_WORDS = {"bound": ("ack",), "refused": ("nak",), "offered": ("advertised",),
              "answered": ("ack", "reply", "replied"), "timeout": ("no reply",)}
STATUSES = ("offered", "bound", "answered", "refused", "malformed", "sent", "timeout", "interrupted")


class Status(str):
    """The outcome of one operation, one word for v4 and v6 alike:

    - ``offered``: an OFFER (v4) or a useful ADVERTISE (v6) came;
    - ``bound``: an ACK or REPLY bound a lease;
    - ``answered``: a reply that carries no lease (the ACK to an INFORM, the
      REPLY to RELEASE, DECLINE, CONFIRM or INFORMATION-REQUEST, any reply to
      ``send_packet``);
    - ``refused``: a NAK, or a status code that says no;
    - ``malformed``: a reply that binds nothing because it is broken (``note`` says why);
    - ``sent``: nothing is expected back (RELEASE and DECLINE in v4);
    - ``timeout``: nothing came; ``interrupted``: Ctrl-C.

    It is a ``str``; the old words (ack, nak, advertised, reply, replied,
    no reply) compare equal for one release and warn."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        if str.__eq__(self, other):
            return True
        if other in _OLD_WORDS.get(str(self), ()):
            warnings.warn(f"status {other!r} is {str(self)!r} now; the old word goes in the next release",
                          DeprecationWarning, stacklevel=2)
            return True
        return False

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        return repr(str(self))


@dataclass
class Lease:
    """A lease as the client holds it. Times are epoch seconds (wall clock)."""

    address: str
    server_id: str | None
    lease_time: int | None
    t1: int | None = None
    t2: int | None = None
    subnet_mask: str | None = None
    router: str | None = None
    dns_servers: list[str] = field(default_factory=list)
    domain: str | None = None
    obtained: float = 0.0
    server_mac: str | None = None
    iface: str | None = None

    @classmethod
    def from_ack(cls, ack: Frame, *, obtained: float | None = None, iface: str | None = None) -> Lease:
        lease_time = ack.lease_time
        routers = ack.routers
        return cls(address=ack.yiaddr, server_id=ack.server_id or ack.ip_src, lease_time=lease_time,
                   t1=ack.t1 if ack.t1 is not None else (lease_time // 2 if lease_time else None),
                   t2=ack.t2 if ack.t2 is not None else (lease_time * 7 // 8 if lease_time else None),
                   subnet_mask=ack.subnet_mask, router=routers[0] if routers else None,
                   dns_servers=ack.dns_servers, domain=ack.domain,
                   obtained=time.time() if obtained is None else obtained,
                   server_mac=mac_str(ack.eth_src) if ack.eth_src else None, iface=iface)

    @property
    def expires(self) -> float | None:
        if self.lease_time is None or self.lease_time == 0xFFFFFFFF:
            return None
        return self.obtained + self.lease_time

    @property
    def remaining(self) -> float | None:
        exp = self.expires
        return None if exp is None else max(0.0, exp - time.time())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lease:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if not isinstance(known.get("address"), str):
            raise ValueError("a lease needs an address")
        return cls(**known)

    def __repr__(self) -> str:
        left = self.remaining
        extra = f", {int(left)} s left" if left is not None else ", infinite"
        return (f"<Lease {self.address} from {self.server_id}, {self.lease_time} s{extra}, "
                f"mask {self.subnet_mask}, router {self.router}, dns {','.join(self.dns_servers) or '-'}>")

    def _repr_html_(self) -> str:
        return _table([(k, v) for k, v in self.to_dict().items() if v not in (None, [], "")])


@dataclass
class Offer:
    """One OFFER: who offered what. ``packet`` is the Scapy packet."""

    frame: Frame

    @property
    def address(self) -> str:
        return self.frame.yiaddr

    @property
    def server_id(self) -> str | None:
        return self.frame.server_id

    @property
    def packet(self) -> Any:
        return self.frame.packet

    @property
    def lease_time(self) -> int | None:
        return self.frame.lease_time

    def __repr__(self) -> str:
        return f"<Offer {self.frame.summary()}>"


@dataclass
class Result:
    """The outcome of one operation (``discover``, ``request``, ``dora``, ...).

    ``status`` is a :class:`Status`: offered, bound, answered, refused,
    malformed (a reply that binds no lease: ``reply`` has it, ``note`` says
    why), sent, timeout or interrupted; the same words for v4 and v6."""

    operation: str
    status: str
    xid: int | None = None
    sent: list[tuple[float, bytes]] = field(default_factory=list)
    received: list[Frame] = field(default_factory=list)
    ignored: list[Frame] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    reply: Frame | None = None
    lease: Lease | None = None
    elapsed: float = 0.0
    note: str = ""
    steps: list[Result] = field(default_factory=list)
    family: int = 4   # 6: a DHCPv6 operation (its xid is a 24-bit transaction id)

    def __post_init__(self) -> None:
        if str(self.status) not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}: one of {', '.join(STATUSES)}")
        self.status = Status(self.status)

    @property
    def xid_text(self) -> str:
        if self.xid is None:
            return "-"
        return f"txid {self.xid:#08x}" if self.family == 6 else f"xid {self.xid:#010x}"

    @property
    def ok(self) -> bool:
        return str(self.status) in ("offered", "bound", "answered", "sent")

    @property
    def refused(self) -> bool:
        """A NAK (v4), or a status code that says no (v6)."""
        return str(self.status) == "refused"

    @property
    def nak(self) -> bool:
        """The v4 name of :attr:`refused`."""
        return self.refused

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"

    @property
    def message(self) -> str | None:
        """The server's message (option 56), as on a NAK."""
        return self.reply.message if self.reply is not None else None

    @property
    def packets(self) -> Any:
        """Everything sent and received, as a Scapy PacketList in time order."""
        from scapy.plist import PacketList

        frames = [parse_any(raw, t) for t, raw in self.sent] + list(self.received)
        frames.sort(key=lambda f: f.time)
        return PacketList([f.packet for f in frames], name=f"{self.operation} {self.xid_text}"
                          if self.xid is not None else self.operation)

    @property
    def sent_packets(self) -> list[Any]:
        return [parse_any(raw).packet for _t, raw in self.sent]

    def headline(self) -> str:
        head = f"{self.operation} {self.status.upper()}"
        if self.xid is not None:
            head += f" {self.xid_text}"
        head += f" in {self.elapsed * 1000:.1f} ms"
        if self.lease is not None and hasattr(self.lease, "summary"):
            head += f": {self.lease.summary()}"   # a v6 lease: addresses and prefixes
        elif self.lease is not None:
            head += f": {self.lease.address} from {self.lease.server_id}, lease {self.lease.lease_time} s"
        elif self.offers:
            head += ": " + ", ".join(f"{o.address or getattr(o, 'prefix', None) or 'nothing'} from {o.server_id}"
                                     for o in self.offers)
        elif self.reply is not None and self.reply.message:
            head += f": {self.reply.message!r}"
        if self.note:
            head += f" ({self.note})"
        return head

    def lines(self) -> list[str]:
        out = [self.headline()]
        frames = [(t, "->", parse_any(raw).summary()) for t, raw in self.sent]
        frames += [(f.time, "<-", f.summary()) for f in self.received]
        if frames:
            t0 = min(t for t, _, _ in frames)
            ordered = sorted(frames, key=lambda x: x[0])
            for t, arrow, text in ordered[:MAX_LINES]:
                out.append(f"  {(t - t0) * 1000:8.2f} ms {arrow} {text}")
            if len(ordered) > MAX_LINES:
                out.append(f"  ... {len(ordered) - MAX_LINES} more frames (.received, .sent)")
        if self.ignored:
            out.append(f"  ({len(self.ignored)} other DHCP replies ignored: wrong xid or chaddr)")
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        rows: list[tuple[str, Any]] = [("operation", self.operation), ("status", self.status),
                                       ("xid", self.xid_text),
                                       ("time", f"{self.elapsed * 1000:.1f} ms")]
        if self.lease is not None and hasattr(self.lease, "summary"):   # a v6 lease
            rows += [("lease", self.lease.summary()), ("address", self.lease.address or "-"),
                     ("prefix", getattr(self.lease, "prefix", None) or "-"), ("dns", ", ".join(self.lease.dns_servers))]
        elif self.lease is not None:
            rows += [("lease", f"{self.lease.address} from {self.lease.server_id}"),
                     ("lease time", self.lease.lease_time), ("router", self.lease.router),
                     ("dns", ", ".join(self.lease.dns_servers))]
        for o in self.offers:
            rows.append(("offer", f"{o.address or getattr(o, 'prefix', None) or 'nothing'} from {o.server_id}"))
        if self.message:
            rows.append(("message", self.message))
        packets = "<br>".join(html.escape(line.strip()) for line in self.lines()[1:])
        rows.append(("packets", _Raw(packets)))
        return _table(rows)


class _Raw(str):
    """HTML that is already escaped."""


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left;font-family:monospace'>"
        f"{v if isinstance(v, _Raw) else html.escape(str(v))}</td></tr>"
        for k, v in rows)
    return f"<table>{cells}</table>"


def progress_bar(progress: bool, total: int, desc: str, *, unit: str = "case", done: int = 0) -> Any:
    """A tqdm bar for a long run, or None when it is off or tqdm is missing."""
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=done, unit=unit, desc=desc, leave=False)
