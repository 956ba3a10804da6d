"""DHCPv6 sweeps: every length of a SOLICIT and the malformed catalog, each
case followed by a barrier SOLICIT whose ADVERTISE proves the server has
handled it and is alive, as the v4 sweeps do (:mod:`scapy_dhcp_ext.workloads.sweep4`).

Usage::

    >>> r = sweep_lengths6()                # every message length, IPv6/UDP length lies, cut headers
    >>> r.first_answered, r.killer
    >>> sweep_malformed6()                  # the v6 catalog (v6.cases.malformed_specs6)
    >>> sweep_malformed6(probe="ns")        # the barrier, then a neighbour solicitation of the server
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..errors import UsageError, old_keyword
from ..wire.dhcp6 import ADVERTISE, IA_NA, REPLY, SOLICIT, ia, ip6_bytes, is_neighbour_advert_for, neighbour_solicit
from ..wire.frames6 import is_ipv6, parse_frame6
from ..wire.messages6 import client_id, elapsed, frame6, message6
from .catalog import choose
from .sweep4 import Sweeper, _resumed
from .sweep_report import Probe, SweepReport


class Sweeper6(Sweeper):
    """The sweep runner on the endpoint's v6 socket; its barrier is a SOLICIT
    (the server answers in order, so its ADVERTISE comes after the case's
    answer), its other probe a neighbour solicitation for the server's
    link-local address (``probe="ns"``)."""

    PROBES = ("solicit", "ns")
    BARRIER = "solicit"

    def __init__(self, host: Any, **kwargs: Any) -> None:
        super().__init__(host, journal_tag="SWEEP6", **kwargs)
        self.v6: Any = host   # the v6 client role: its DUID, link-local address, lease

    @property
    def transport(self) -> Any:
        return self.endpoint.transport6

    def _xid_of(self, raw: bytes) -> Any:
        return parse_frame6(raw).txid

    def _discover(self) -> tuple[bytes, Callable[[Any], bool]]:
        txid = self.rng.getrandbits(24)
        duid = self.v6.duid
        mac = self.endpoint.mac_bytes
        self.transport.answer_nd(self.v6.link_local, mac)
        frame = frame6(message6(SOLICIT, txid, [client_id(duid), elapsed(0), ia(IA_NA, self.v6._iaid("NA"))]),
                       mac=mac)
        return frame, lambda f: f.msg_type in (ADVERTISE, REPLY) and f.txid == txid and f.client_id == duid

    def _probe_frame(self) -> tuple[bytes, Callable[[Any], bool]]:
        if self.probe == self.BARRIER:
            return self._discover()
        target = self._target()
        mac = self.endpoint.mac_bytes
        frame = neighbour_solicit(mac=mac, src=self.v6.link_local, target=target)
        target_b = ip6_bytes(target)
        return frame, lambda f: is_neighbour_advert_for(f.raw, target_b)

    def _target(self) -> str:
        if self._probe_target is None:
            lease, ads = self.v6.lease, self.v6.advertises
            target = lease.server_ip if lease else (ads[0].frame.ip_src if ads else None)
            if target is None:
                raise UsageError("an ns probe needs the server's address: run solicit() or sarr() first")
            self._probe_target = target
        return self._probe_target

    def _own_address(self) -> str:
        return self.v6.link_local

    def _is_reply(self, frame: Any) -> bool:
        return frame.msg_type in (ADVERTISE, REPLY)

    def _is_ours(self, frame: Any) -> bool:
        return bool(frame.client_id == self.v6.duid)


def default_lengths6(mtu: int) -> list[int]:
    """0 up to the largest DHCPv6 message the MTU carries, then some past it (IPv6 fragments)."""
    top = mtu - 48
    return list(range(0, top + 1)) + [top + 1, top + 100, 2000, 3000, 4000, 8000]


def _runner(host: Any, probe: Probe, timeout: float, on_dead: str, wait_dead: float, progress: bool,
            params: dict[str, Any]) -> Sweeper6:
    return Sweeper6(host, probe=probe, probe_timeout=timeout, on_dead=on_dead, wait_dead=wait_dead,
                    progress=progress, params=params)


def sweep_lengths6(host: Any, lengths: Iterable[int] | None = None, base: Any = None, *, probe: Probe = "solicit",
                   timeout: float = 1.0, headers: bool | None = None, lies: bool | None = None,
                   on_dead: str = "stop", wait_dead: float = 30.0, progress: bool = True,
                   resume: bool = False) -> SweepReport:
    """Sends a SOLICIT of the client's (or the DHCPv6 message of ``base``: a
    Scapy packet or bytes) at every message length, cut short or grown with an
    option of an unassigned code; by default 0 to what the MTU carries, then
    past it as IPv6 fragments. ``headers`` adds frames cut inside the IPv6 and
    UDP headers, ``lies`` IPv6 payload and UDP lengths that lie; both come by
    default only when ``lengths`` is not given. After each case a barrier
    SOLICIT (``probe="solicit"``; ``"ns"`` adds a neighbour solicitation of
    the server; a callable, or None) checks the server still answers.

    >>> r = sweep_lengths6(range(0, 200))
    """
    from ..wire.dhcp6 import DHCP6_AT
    from ..wire.pktools import to_packet
    from .cases6 import header_cut_cases6, length_cases6, lie_cases6

    endpoint = host.endpoint
    if resume:
        params = (endpoint.notes.get("sweep") or {}).get("params", {})
        lengths, headers, lies = params.get("lengths"), params.get("headers"), params.get("lies")
    headers = lengths is None if headers is None else headers
    lies = lengths is None if lies is None else lies
    mtu = endpoint.transport6.link_mtu() if endpoint.iface else 1500
    lengths = list(lengths) if lengths is not None else default_lengths6(mtu)
    mac = endpoint.mac
    if base is None:
        payload = message6(SOLICIT, 0, [client_id(host.duid), elapsed(0), ia(IA_NA, host._iaid("NA"))])
    else:
        raw = bytes(base) if isinstance(base, (bytes, bytearray)) else bytes(to_packet(base))
        payload = raw[DHCP6_AT:] if is_ipv6(raw) else raw
    runner = _runner(host, probe, timeout, on_dead, wait_dead, progress,
                     {"lengths": lengths, "headers": headers, "lies": lies})
    new_txid = lambda: runner.rng.getrandbits(24)
    cases = header_cut_cases6(payload, mac, new_txid=new_txid) if headers else []
    cases += length_cases6(payload, mac, lengths, mtu=mtu, new_txid=new_txid)
    cases += lie_cases6(payload, mac, new_txid=new_txid) if lies else []
    if resume:
        return _resumed(host, "length6", cases, runner)
    return runner.start("length6", cases)


def sweep_malformed6(host: Any, only: Iterable[str] | None = None, *, skip: Iterable[str] | None = None,
                     probe: Probe = "solicit", timeout: float = 1.0, on_dead: str = "stop", wait_dead: float = 30.0,
                     progress: bool = True, resume: bool = False, names: Iterable[str] | None = None) -> SweepReport:
    """Sends each case of the v6 malformed catalog (``only`` some, less ``skip``)
    with a barrier SOLICIT after each.

    >>> sweep_malformed6(["ia-na-iaaddr-cut", "relay-nest-33"])
    """
    from .cases6 import malformed_cases6, malformed_specs6

    duid = host.duid
    only = old_keyword("dhcp.v6.sweep_malformed", "names", "only", names, only)
    if only is not None or skip:
        names = [s.name for s in choose(malformed_specs6(duid), only, skip, key=lambda s: s.name, what="case")]
    runner = _runner(host, probe, timeout, on_dead, wait_dead, progress, {"names": names})
    cases = malformed_cases6(host.endpoint.mac, duid, new_txid=lambda: runner.rng.getrandbits(24), names=names)
    if resume:
        return _resumed(host, "malformed6", cases, runner)
    return runner.start("malformed6", cases)
