"""What the v6 operations return besides a :class:`~scapy_dhcp_ext.roles.results4.Result`:
the lease (IA_NA addresses and delegated prefixes, per IA) and the ADVERTISEs.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..wire.dhcp6 import describe_duid
from ..wire.frames6 import IA, Frame6
from .results4 import _table


@dataclass
class IALease:
    """One IA as the client holds it: ``kind`` "NA" or "PD", its T1 and T2, and
    what it holds (addresses, or prefixes as ``"fd77:1:2:100::/56"``) with
    their lifetimes."""

    kind: str
    iaid: int
    t1: int
    t2: int
    addresses: list[dict[str, Any]] = field(default_factory=list)   # address, prefix_len, preferred, valid

    @classmethod
    def from_ia(cls, ia: IA) -> IALease:
        return cls(ia.kind, ia.iaid, ia.t1, ia.t2,
                   [{"address": a.address, "prefix_len": a.prefix_len, "preferred": a.preferred, "valid": a.valid}
                    for a in ia.addresses if a.valid])

    def texts(self) -> list[str]:
        return [a["address"] if a["prefix_len"] == 128 else f"{a['address']}/{a['prefix_len']}"
                for a in self.addresses]


@dataclass
class Lease6:
    """A DHCPv6 lease: ``address`` is the first IA_NA address, ``prefix`` the
    first delegated prefix (``"fd77:1:2::/56"``), ``t1`` and ``t2`` the first
    IA's; ``ias`` has every IA. Times are epoch seconds."""

    server_duid: str                    # hex
    ias: list[IALease] = field(default_factory=list)
    server_ip: str | None = None        # where the reply came from (a link-local address)
    server_mac: str | None = None
    dns_servers: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    obtained: float = 0.0
    iface: str | None = None

    @classmethod
    def from_reply(cls, reply: Frame6, *, iface: str | None = None) -> Lease6:
        from ..wire import mac_str

        return cls((reply.server_id or b"").hex(),
                   [IALease.from_ia(i) for i in reply.ia_na + reply.ia_pd if any(a.valid for a in i.addresses)],
                   server_ip=reply.ip_src, server_mac=mac_str(reply.eth_src) if reply.eth_src else None,
                   dns_servers=reply.dns_servers, domains=reply.domains, obtained=time.time(), iface=iface)

    def _first(self, kind: str) -> tuple[IALease, dict[str, Any]] | None:
        for ia in self.ias:
            if ia.kind == kind and ia.addresses:
                return ia, ia.addresses[0]
        return None

    @property
    def address(self) -> str | None:
        got = self._first("NA")
        return got[1]["address"] if got else None

    @property
    def prefix(self) -> str | None:
        got = self._first("PD")
        return f"{got[1]['address']}/{got[1]['prefix_len']}" if got else None

    @property
    def t1(self) -> int | None:
        return self.ias[0].t1 if self.ias else None

    @property
    def t2(self) -> int | None:
        return self.ias[0].t2 if self.ias else None

    @property
    def valid(self) -> int | None:
        got = self._first("NA") or self._first("PD")
        return got[1]["valid"] if got else None

    lease_time = valid

    @property
    def server_id(self) -> str:
        """The server's DUID in words."""
        return describe_duid(bytes.fromhex(self.server_duid))

    @property
    def server_duid_bytes(self) -> bytes:
        return bytes.fromhex(self.server_duid)

    @property
    def expires(self) -> float | None:
        valid = self.valid
        return None if valid is None or valid == 0xFFFFFFFF else self.obtained + valid

    def summary(self) -> str:
        held = [t for ia in self.ias for t in ia.texts()]
        return f"{' '.join(held) or 'nothing'} from {self.server_id}, T1 {self.t1} T2 {self.t2}, valid {self.valid} s"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lease6:
        if not isinstance(data.get("server_duid"), str):
            raise ValueError("a v6 lease needs its server's DUID")
        bytes.fromhex(data["server_duid"])
        ias = [IALease(str(i["kind"]), int(i["iaid"]), int(i["t1"]), int(i["t2"]),
                       [dict(a) for a in i.get("addresses") or []]) for i in data.get("ias") or []]
        known = {k: data[k] for k in ("server_ip", "server_mac", "dns_servers", "domains", "obtained", "iface")
                 if k in data}
        return cls(data["server_duid"], ias, **known)

    def __repr__(self) -> str:
        return f"<Lease6 {self.summary()}>"

    def _repr_html_(self) -> str:
        return _table([("address", self.address), ("prefix", self.prefix), ("server", self.server_id),
                       ("T1", self.t1), ("T2", self.t2), ("valid", self.valid),
                       ("dns", ", ".join(self.dns_servers)), ("domains", ", ".join(self.domains))])


@dataclass
class Advertise:
    """One ADVERTISE: who offers what, with its preference."""

    frame: Frame6

    @property
    def address(self) -> str | None:
        got = self.frame.addresses
        return got[0].address if got else None

    @property
    def prefix(self) -> str | None:
        got = self.frame.prefixes
        return got[0].prefix if got else None

    @property
    def server_id(self) -> str | None:
        return self.frame.server

    @property
    def server_duid(self) -> bytes | None:
        return self.frame.server_id

    @property
    def preference(self) -> int:
        return self.frame.preference

    @property
    def packet(self) -> Any:
        return self.frame.packet

    def __repr__(self) -> str:
        return f"<Advertise {self.frame.summary()}>"
