"""Load: many clients doing DORA at once, like ISC's perfdhcp, from Python.

Usage::

    >>> r = load(clients=1000, duration=5)              # closed loop, 16 exchanges in flight
    >>> r.rate, r.drops, r.latency_ms["dora"]["p99"]
    >>> load(duration=5, rate=2000, release=True)        # a fixed rate, RELEASE after each ACK

One raw socket and one loop, no threads. Frames come from templates built
once: per exchange only the xid and the client MAC are patched in, and the
UDP checksum computed again. Replies are matched on their raw bytes (xid and
message type) and never dissected unless someone asks. Nothing per packet
goes to the journal: a load run is one entry in the history, its result.
"""

from __future__ import annotations

import random
import struct
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..state.signals import stop_on_ctrl_c
from ..wire import (
    ACK,
    BOOTP_AT,
    BOOTREPLY,
    DISCOVER,
    ETH_TYPE,
    ETH_TYPE_IPV4,
    FRAME_CHADDR,
    FRAME_OPTIONS,
    FRAME_XID,
    FRAME_YIADDR,
    IP_DST,
    IP_SRC,
    NAK,
    OFFER,
    RELEASE,
    REQUEST,
    Bootp,
    find_option,
    iter_options,
    patch_checksums,
)
from ..wire.messages4 import MessageOptions, build_message
from .report import Report

if TYPE_CHECKING:
    from ..state.endpoint import Endpoint

class Template:
    """A frame built once; ``render`` patches xid, MAC (Ethernet and chaddr),
    and optionally the 4-byte values of options 50 and 54, then the checksums."""

    def __init__(self, frame: bytes) -> None:
        self.frame = bytearray(frame)
        self.offsets = {code: at + 2 for at, code, _payload in iter_options(frame, FRAME_OPTIONS)}

    def render(self, xid: int, mac: bytes, requested: bytes | None = None, server: bytes | None = None,
               ciaddr: bytes | None = None) -> bytes:
        f = self.frame
        struct.pack_into("!I", f, FRAME_XID, xid)
        f[6:12] = mac
        f[FRAME_CHADDR:FRAME_CHADDR + 6] = mac
        if requested is not None:
            f[self.offsets[50]:self.offsets[50] + 4] = requested
        if server is not None:
            f[self.offsets[54]:self.offsets[54] + 4] = server
        if ciaddr is not None:  # a RELEASE: from ciaddr, unicast to the server
            f[IP_SRC:IP_SRC + 4] = ciaddr
            f[BOOTP_AT + Bootp.CIADDR:BOOTP_AT + Bootp.CIADDR + 4] = ciaddr
            f[IP_DST:IP_DST + 4] = server or f[IP_DST:IP_DST + 4]
        patch_checksums(f)
        return bytes(f)


def message_type(raw: bytes) -> int:
    """Option 53 of a reply, read fast (0 when absent or unreadable)."""
    value = find_option(raw, 53)
    return value[0] if value else 0


def server_id(raw: bytes) -> bytes:
    """Option 54 of a reply, else its IP source."""
    value = find_option(raw, 54)
    return value[:4] if value is not None and len(value) >= 4 else raw[IP_SRC:IP_SRC + 4]


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    s = sorted(values)

    def at(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))] * 1000, 3)
    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(s[-1] * 1000, 3)}


@dataclass
class LoadRow:
    """One leg's latency percentiles (ms), or the exchanges that never completed."""

    key: str
    verdict: str
    why: str
    seconds: float = 0.0

    def cells(self) -> list[str]:
        return [self.verdict, self.why]

    def evidence(self) -> list[tuple[str, bytes, float]]:
        return []   # a load keeps counts and latencies, not frames

    def to_dict(self) -> dict[str, Any]:
        return {"leg": self.key, "verdict": self.verdict, "why": self.why}


@dataclass(repr=False)
class LoadResult(Report):
    """``rate``: completed DORAs per second; ``drops``: exchanges started and
    never completed (no OFFER or ACK in time); ``latency_ms``: each leg's
    percentiles, in ms. Its rows are the legs' latencies, and the drops when
    there were any (``failed``)."""

    clients: int
    in_flight: int
    target_rate: float | None
    duration: float = 0.0
    started: int = 0
    completed: int = 0
    drops: int = 0
    naks: int = 0
    released: int = 0
    interrupted: bool = False
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)

    KIND = "load"
    KEY_HEADER = "leg"
    COLUMNS = ("verdict", "latency")
    FAILED = ("dropped",)
    EXCHANGE = "DORA"

    @property
    def rate(self) -> float:
        return self.completed / self.duration if self.duration else 0.0

    @property
    def window(self) -> int:
        """The old name of ``in_flight``: it warns."""
        warnings.warn("load().window is load().in_flight now", DeprecationWarning, stacklevel=2)
        return self.in_flight

    @property
    def latency(self) -> dict[str, dict[str, float]]:
        """The old name of ``latency_ms`` (every other duration is in seconds): it warns."""
        warnings.warn("load().latency is load().latency_ms now", DeprecationWarning, stacklevel=2)
        return self.latency_ms

    @property
    def drop_ratio(self) -> float:
        return self.drops / self.started if self.started else 0.0

    @property
    def elapsed(self) -> float:  # type: ignore[override]
        return self.duration

    @property
    def rows(self) -> list[LoadRow]:  # type: ignore[override]
        rows = [LoadRow(leg, "ok", "  ".join(f"{k} {v:.2f} ms" for k, v in p.items()), p.get("p50", 0.0) / 1000)
                for leg, p in self.latency_ms.items()]
        if self.drops:
            rows.append(LoadRow("drops", "dropped", f"{self.drops} of {self.started} never completed "
                                                   f"({self.drop_ratio:.2%})"))
        return rows

    def headline(self) -> str:
        mode = f"rate {self.target_rate:g}/s" if self.target_rate else f"{self.in_flight} in flight"
        return (f"LOAD {self.completed} {self.EXCHANGE} in {self.duration:.2f} s = {self.rate:.0f}/s, "
                f"{self.drops} dropped ({self.drop_ratio:.2%}), {self.naks} NAK; {self.clients} clients, {mode}"
                + (" (interrupted)" if self.interrupted else ""))

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(clients=self.clients, in_flight=self.in_flight, target_rate=self.target_rate, rate=self.rate,
                    started=self.started, completed=self.completed, drops=self.drops, naks=self.naks,
                    released=self.released, latency_ms=self.latency_ms)
        return data


def client_macs(count: int, seed: int) -> list[bytes]:
    """Distinct locally administered MACs, the same for the same seed."""
    rng = random.Random(seed)
    base = rng.getrandbits(16)
    return [bytes([0x02, 0x4C, (base >> 8) & 0xFF, base & 0xFF, (i >> 8) & 0xFF, i & 0xFF]) for i in range(count)]


def run_load(endpoint: Endpoint, *, clients: int = 1000, duration: float = 5.0, rate: float | None = None,
             in_flight: int = 16, release: bool = False, timeout: float = 1.0, progress: bool = True,
             seed: int | None = None) -> LoadResult:
    """See the module docstring. ``in_flight`` caps the exchanges in flight in
    both modes; ``timeout`` is how long one leg may take before it is a drop."""
    if clients < 1 or clients > 65536:
        raise ValueError("clients is 1 to 65536")
    transport = endpoint.transport
    transport.drain()
    send = transport.send
    macs = client_macs(clients, seed if seed is not None else random.getrandbits(32))
    opts = MessageOptions(param_req_list=None)
    discover = Template(build_message(DISCOVER, mac=macs[0], xid=0, opts=opts))
    request = Template(build_message(REQUEST, mac=macs[0], xid=0, opts=opts, requested="0.0.0.0",
                                     server_id="0.0.0.0"))
    releases = Template(build_message(RELEASE, mac=macs[0], xid=0, opts=opts, ciaddr="10.0.0.1",
                                      server_id="0.0.0.0", dst_ip="0.0.0.0")) if release else None
    result = LoadResult(clients=clients, in_flight=in_flight, target_rate=rate)
    flight: dict[int, list[Any]] = {}   # xid -> [mac, phase (1 discover, 3 request), t_start, t_leg]
    legs: dict[str, list[float]] = {"discover->offer": [], "request->ack": [], "dora": []}
    rng = random.Random()
    next_client = 0

    def start_one(now: float) -> None:
        nonlocal next_client
        xid = rng.getrandbits(32)
        mac = macs[next_client % clients]
        next_client += 1
        send(discover.render(xid, mac))
        flight[xid] = [mac, DISCOVER, now, now]

    def take(raw: bytes, until: float) -> None:
        if len(raw) < FRAME_OPTIONS + 3 or raw[ETH_TYPE:ETH_TYPE + 2] != ETH_TYPE_IPV4 or raw[BOOTP_AT] != BOOTREPLY:
            return
        xid = struct.unpack_from("!I", raw, FRAME_XID)[0]
        entry = flight.get(xid)
        if entry is None or raw[FRAME_CHADDR:FRAME_CHADDR + 6] != entry[0]:
            return
        t = time.monotonic()
        kind = message_type(raw)
        if kind == OFFER and entry[1] == DISCOVER:
            legs["discover->offer"].append(t - entry[3])
            send(request.render(xid, entry[0], raw[FRAME_YIADDR:FRAME_YIADDR + 4], server_id(raw)))
            entry[1], entry[3] = REQUEST, t
        elif kind == ACK and entry[1] == REQUEST:
            legs["request->ack"].append(t - entry[3])
            legs["dora"].append(t - entry[2])
            del flight[xid]
            if t <= until:
                result.completed += 1
            if releases is not None:
                ciaddr = raw[FRAME_YIADDR:FRAME_YIADDR + 4]
                send(releases.render(rng.getrandbits(32), entry[0], None, server_id(raw), ciaddr))
                result.released += 1
        elif kind == NAK:
            result.naks += 1
            result.drops += 1
            del flight[xid]

    drive(transport, result, flight, start_one, take, duration=duration, rate=rate, in_flight=in_flight,
          timeout=timeout,
          progress=progress)
    result.latency_ms = {leg: percentiles(v) for leg, v in legs.items() if v}
    return result


def drive(transport: Any, result: LoadResult, flight: dict[int, list[Any]], start_one: Callable[[float], None],
          take: Callable[[bytes, float], None], *, duration: float, rate: float | None, in_flight: int,
          timeout: float, progress: bool) -> None:
    """The loop of a load, v4 or v6: ``start_one(now)`` starts an exchange (its
    entry in ``flight``, keyed by transaction id, with the time its current leg
    began last) at ``rate`` or whenever fewer than ``in_flight`` are in flight;
    each frame queued goes to ``take(raw, until)`` (an exchange that completes
    after ``until`` does not count); a leg older than ``timeout`` is a drop.
    Ctrl-C ends it, and the result says so."""
    bar = _bar(duration) if progress else None
    receive = transport.recv_nowait
    start = time.monotonic()
    end = start + duration
    next_start = start
    interval = 1.0 / rate if rate else 0.0
    last_sweep = last_bar = start

    def stopped() -> None:
        result.interrupted = True

    try:
        with stop_on_ctrl_c(stopped):
            while True:
                now = time.monotonic()
                starting = now < end
                while starting and len(flight) < in_flight and (not rate or now >= next_start):
                    start_one(now)
                    result.started += 1
                    next_start = max(next_start + interval, now - 1.0) if rate else now
                if not starting and not flight:
                    break
                wait = min(max(0.0, next_start - now) if rate and starting else 0.05, 0.05)
                if not transport.wait_readable(wait) and not starting and now > end + timeout:
                    break
                while (raw := receive()) is not None:
                    take(raw, end + timeout)
                now = time.monotonic()
                if now - last_sweep > 0.05:
                    last_sweep = now
                    for key in [k for k, e in flight.items() if now - e[3] > timeout]:
                        del flight[key]
                        result.drops += 1
                if bar is not None and now - last_bar > 0.2:
                    last_bar = now
                    bar.n = round(min(now - start, duration), 1)
                    bar.set_postfix(rate=f"{result.completed / max(1e-9, min(now, end) - start):.0f}/s",
                                    drops=result.drops, refresh=True)
    finally:
        result.drops += len(flight)
        result.duration = min(time.monotonic(), end) - start
        if bar is not None:
            bar.close()


def _bar(duration: float) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=round(duration, 1), unit="s", desc="load", leave=False,
                bar_format="{desc} {n:.1f}/{total:.1f} s |{bar}| {postfix}")

