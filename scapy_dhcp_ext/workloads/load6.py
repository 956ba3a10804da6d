"""load6(): many DHCPv6 clients doing SOLICIT, ADVERTISE, REQUEST, REPLY (or
SOLICIT and REPLY with rapid commit) over the endpoint's one v6 socket, like
``perfdhcp -6``.

Usage::

    >>> r = load6(clients=1000, duration=5)               # closed loop, 16 exchanges in flight
    >>> r.rate, r.drops, r.latency_ms["sarr"]["p99"]
    >>> load6(duration=5, rapid_commit=True, rate=2000)

Each client is a DUID (DUID-LL of a MAC of its own); all of them speak from
the endpoint's link-local address, as perfdhcp's do, so the server resolves
one neighbour. Frames are bytes joined once per message: the transaction id,
the DUID and (for a REQUEST) the server's own server-id and IA_NA copied from
its ADVERTISE; only the UDP checksum is computed per frame. Replies are read
as raw bytes (message type, transaction id, the top-level options).
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from ..wire import ETH_TYPE
from ..wire.dhcp6 import (
    ADVERTISE,
    ALL_SERVERS,
    CLIENTID,
    DHCP6_AT,
    ETHERTYPE_IPV6,
    IA_NA,
    IAADDR,
    REPLY,
    REQUEST,
    SERVERID,
    SOLICIT,
    STATUS_CODE,
    duid_ll,
    ia,
    link_local,
    multicast_mac,
    option6,
    udp6_frame,
    walk6,
)
from ..wire.messages6 import elapsed, rapid_commit
from .load4 import LoadResult, client_macs, drive, percentiles

if TYPE_CHECKING:
    from ..state.endpoint import Endpoint


class Load6Result(LoadResult):
    """As :class:`~scapy_dhcp_ext.workloads.load4.LoadResult`; ``completed`` counts SARRs
    (or rapid-commit exchanges) whose REPLY bound an address; ``naks`` REPLYs
    with a status that said no."""

    KIND = "load6"
    EXCHANGE = "SARR"

    def headline(self) -> str:
        return super().headline().replace("LOAD", "LOAD6", 1).replace(" NAK;", " refused;", 1)


def run_load6(endpoint: Endpoint, *, clients: int = 1000, duration: float = 5.0,
              rate: float | None = None, in_flight: int = 16, rapid_commit_: bool = False, timeout: float = 1.0,
              progress: bool = True, seed: int | None = None) -> Load6Result:
    """See the module docstring."""
    if clients < 1 or clients > 65536:
        raise ValueError("clients is 1 to 65536")
    transport = endpoint.transport6
    transport.drain()
    mac = endpoint.mac_bytes
    ll = link_local(mac)
    transport.answer_nd(ll, mac)
    duids = [option6(CLIENTID, duid_ll(m)) for m in client_macs(clients, seed if seed is not None
                                                                    else random.getrandbits(32))]
    frame_of = _Framer(mac, ll)
    tail_solicit = elapsed(0) + ia(IA_NA, 1) + (rapid_commit() if rapid_commit_ else b"")
    result = Load6Result(clients=clients, in_flight=in_flight, target_rate=rate)
    flight: dict[int, list[Any]] = {}   # txid -> [client id option, phase, t_start, t_leg]
    legs: dict[str, list[float]] = {"solicit->advertise": [], "request->reply": [], "solicit->reply": [], "sarr": []}
    rng = random.Random()
    send = transport.send
    next_client = 0

    def start_one(now: float) -> None:
        nonlocal next_client
        txid = rng.getrandbits(24)
        cid = duids[next_client % clients]
        next_client += 1
        send(frame_of(bytes([SOLICIT]) + txid.to_bytes(3, "big") + cid + tail_solicit))
        flight[txid] = [cid, SOLICIT, now, now]

    def take(raw: bytes, until: float) -> None:
        if raw[ETH_TYPE:ETH_TYPE + 2] != ETHERTYPE_IPV6 or len(raw) < DHCP6_AT + 4:
            return
        if raw[20] == 58:
            transport._handle_neighbour(raw)   # the server resolving our address
            return
        kind = raw[DHCP6_AT]
        if kind not in (ADVERTISE, REPLY):
            return
        txid = int.from_bytes(raw[DHCP6_AT + 1:DHCP6_AT + 4], "big")
        entry = flight.get(txid)
        if entry is None or entry[0] not in raw:
            return
        t = time.monotonic()
        options = {code: (at, payload) for at, code, payload in walk6(raw, DHCP6_AT + 4)[0]}
        if kind == ADVERTISE and entry[1] == SOLICIT:
            legs["solicit->advertise"].append(t - entry[3])
            sid, na = options.get(SERVERID), options.get(IA_NA)
            if sid is None or na is None:
                return
            send(frame_of(bytes([REQUEST]) + txid.to_bytes(3, "big") + entry[0] + option6(SERVERID, sid[1])
                          + elapsed(0) + option6(IA_NA, na[1])))
            entry[1], entry[3] = REQUEST, t
        elif kind == REPLY:
            legs["request->reply" if entry[1] == REQUEST else "solicit->reply"].append(t - entry[3])
            del flight[txid]
            if not _binds(options):
                result.naks += 1
                result.drops += 1
                return
            legs["sarr"].append(t - entry[2])
            if t <= until:
                result.completed += 1

    drive(transport, result, flight, start_one, take, duration=duration, rate=rate, in_flight=in_flight,
          timeout=timeout,
          progress=progress)
    result.latency_ms = {leg: percentiles(v) for leg, v in legs.items() if v}
    return result


def _binds(options: dict[int, tuple[int, bytes]]) -> bool:
    """Whether a REPLY's options bind an address: no failing status, an IA_NA with a valid IAADDR."""
    status = options.get(STATUS_CODE)
    if status is not None and status[1][:2] != b"\0\0":
        return False
    na = options.get(IA_NA)
    if na is None:
        return False
    return any(code == IAADDR and len(data) >= 24 and data[20:24] != b"\0\0\0\0"
               for _at, code, data in walk6(na[1], 12)[0])


class _Framer:
    """A DHCPv6 message from the endpoint's link-local address to the servers' group, checksum computed."""

    def __init__(self, mac: bytes, ll: str) -> None:
        self.mac, self.ll, self.dst_mac = mac, ll, multicast_mac(ALL_SERVERS)

    def __call__(self, payload: bytes) -> bytes:
        return udp6_frame(payload, src_mac=self.mac, dst_mac=self.dst_mac, src=self.ll, dst=ALL_SERVERS)
