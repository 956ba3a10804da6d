"""Sweep cases: odd lengths, lying length fields and malformed DHCP fields.

Each case has a stable name, a description, and the exact frames it sends (a
frame past the MTU is sent as IP fragments). Pure code: nothing here sends.

Embedded DHCP stacks have fallen over on each of these: missing minimum-length
checks, option lengths past the buffer, no END, zero-length options, option
overload (52) loops, wrong sizes for fixed-size options, lying IP or UDP
lengths, oversized option areas, odd header fields, and text options with NUL,
bad UTF-8 or shell metacharacters.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..wire import (
    BOOTP_AT,
    BROADCAST_IP,
    BROADCAST_MAC,
    CLIENT_PORT,
    DISCOVER,
    IP_AT,
    IP_HLEN,
    IP_LEN,
    IP_MF,
    IPV4_HEADER,
    MAGIC_COOKIE,
    REQUEST,
    SERVER_PORT,
    UDP_CSUM,
    UDP_LEN,
    ZERO_IP,
    Bootp,
    bootp_header,
    ip_header,
    ip_udp_frame,
    mac_bytes,
    patch_ip_checksum,
)

ETH_IP_UDP = BOOTP_AT


@dataclass
class Case:
    """One anomaly: ``frames`` go out in order, as they are."""

    name: str
    description: str
    frames: list[bytes]
    xid: int
    length: int | None = None      # BOOTP payload length, for length cases
    kind: str = "length"           # length, header-cut, lie, fragmented, malformed


def _patch_xid(payload: bytes, xid: int) -> bytes:
    if len(payload) >= Bootp.SECS:
        return payload[:Bootp.XID] + struct.pack("!I", xid) + payload[Bootp.SECS:]
    return payload


def _frame(payload: bytes, mac: bytes) -> bytes:
    return ip_udp_frame(payload, src_mac=mac, dst_mac=BROADCAST_MAC, src_ip=ZERO_IP, dst_ip=BROADCAST_IP,
                        sport=CLIENT_PORT, dport=SERVER_PORT, ttl=128)


def fragment(frame: bytes, mtu: int) -> list[bytes]:
    """Splits an Ethernet + IPv4 frame into IP fragments of at most ``mtu`` bytes."""
    eth, data = frame[:IP_AT], frame[IP_AT + IP_HLEN:]   # frames we build carry no IP options
    _v, _tos, _len, _id, _frag, ttl, proto, _sum, src, dst = IPV4_HEADER.unpack_from(frame, IP_AT)
    step = (mtu - IP_HLEN) // 8 * 8
    return [eth + ip_header(IP_HLEN + len(data[at:at + step]), proto, src, dst, ttl=ttl, ident=0x4D44,
                            frag=(IP_MF if at + step < len(data) else 0) | at // 8) + data[at:at + step]
            for at in range(0, len(data), step)]


def resize(payload: bytes, length: int) -> bytes:
    """The BOOTP payload cut to ``length``, or grown with PAD (zeros) after END."""
    return payload[:length] if length <= len(payload) else payload + b"\0" * (length - len(payload))


def length_cases(base: bytes, mac: str, lengths: Iterable[int], *, mtu: int = 1500,
                 new_xid: Callable[[], int]) -> list[Case]:
    """One case per BOOTP payload length; lengths past the MTU go as IP fragments."""
    mac_b = mac_bytes(mac)
    payload = base[ETH_IP_UDP:]
    cases = []
    for length in lengths:
        xid = new_xid()
        frame = _frame(_patch_xid(resize(payload, length), xid), mac_b)
        if len(frame) - 14 > mtu:
            frames, kind = fragment(frame, mtu), "fragmented"
        else:
            frames, kind = [frame], "length"
        cases.append(Case(f"len-{length:05d}", f"BOOTP payload of {length} bytes" +
                          (f" in {len(frames)} IP fragments" if len(frames) > 1 else ""),
                          frames, xid, length, kind))
    return cases


def header_cut_cases(base: bytes, mac: str, *, new_xid: Callable[[], int]) -> list[Case]:
    """Frames of 14 to 41 bytes: cut inside the IP or UDP header."""
    frame = _frame(_patch_xid(base[ETH_IP_UDP:], new_xid()), mac_bytes(mac))
    return [Case(f"frame-{n:04d}", f"frame cut to {n} bytes (inside the {'IP' if n < 34 else 'UDP'} header)",
                 [frame[:n]], 0, None, "header-cut") for n in range(14, ETH_IP_UDP)]


def lie_cases(base: bytes, mac: str, *, new_xid: Callable[[], int]) -> list[Case]:
    """IP total length and UDP length larger and smaller than the packet."""
    cases = []
    mac_b = mac_bytes(mac)
    for layer, offset, deltas in (("ip", IP_LEN, (1, 100, -1, -100)), ("udp", UDP_LEN, (1, 100, -1, -100))):
        for delta in list(deltas) + ["min"]:
            xid = new_xid()
            frame = bytearray(_frame(_patch_xid(base[ETH_IP_UDP:], xid), mac_b))
            true = struct.unpack("!H", frame[offset:offset + 2])[0]
            value = (20 if layer == "ip" else 8) if delta == "min" else true + int(delta)
            struct.pack_into("!H", frame, offset, value)
            if layer == "ip":
                patch_ip_checksum(frame)
            else:
                frame[UDP_CSUM:UDP_CSUM + 2] = b"\0\0"  # checksum off: the length is the only anomaly
            sign = "min" if delta == "min" else f"{'plus' if int(delta) > 0 else 'minus'}{abs(int(delta))}"
            name = f"{layer}-len-{sign}"
            cases.append(Case(name, f"{layer.upper()} length {value} (true {true})", [bytes(frame)], xid,
                              None, "lie"))
    return cases


# --- malformed fields ------------------------------------------------------------

def _bootp(xid: int, mac: bytes, options: bytes, *, msg_hops: int = 0, hlen: int = 6,
           cookie: bytes = MAGIC_COOKIE, sname: bytes = b"", file: bytes = b"", pad_to: int = 0) -> bytes:
    header = bootp_header(1, xid, mac, hlen=hlen, hops=msg_hops, sname=sname, file=file)
    return (header + cookie + options).ljust(pad_to, b"\0")


def _opt(code: int, data: bytes) -> bytes:
    return bytes([code, len(data)]) + data


@dataclass(frozen=True)
class Spec:
    """How to build one malformed DISCOVER: raw option bytes and header oddities."""

    name: str
    description: str
    options: bytes
    hops: int = 0
    hlen: int = 6
    cookie: bytes = MAGIC_COOKIE
    sname: bytes = b""
    file: bytes = b""
    pad_to: int = 0


def malformed_specs() -> list[Spec]:
    """The catalog of anomalies, in a stable order with stable names."""
    d53 = _opt(53, bytes([DISCOVER]))
    prl = _opt(55, bytes([1, 3, 6, 51, 54]))
    end = b"\xff"
    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("opt-len-past-end", "hostname says 200 bytes, 5 follow, then the packet ends",
         {"options": d53 + b"\x0c\xc8probe"}),
        ("opt-code-last-byte", "the last byte is an option code with no length", {"options": d53 + b"\x0c"}),
        ("no-end", "no END option, nothing after the options", {"options": d53 + prl}),
        ("no-end-padded", "no END option, PAD to 300 bytes", {"options": d53 + prl, "pad_to": 300}),
    ]
    for code in (53, 54, 61, 12):
        opts = (b"" if code == 53 else d53) + _opt(code, b"") + end
        specs.append((f"zero-len-{code}", f"option {code} with length 0", {"options": opts}))
    for code, data in ((53, b"\x01\x01"), (50, b"\x0a\x4d\x00"), (51, b"\x00\x10"), (54, b"\x0a\x4d\x00\x01\x00"),
                       (57, b"\x02"), (61, b"\x01")):
        opts = (b"" if code == 53 else d53) + _opt(code, data) + end
        specs.append((f"bad-size-{code}", f"option {code} with {len(data)} bytes", {"options": opts}))
    specs += [
        ("dup-53", "option 53 twice, both DISCOVER", {"options": d53 + d53 + end}),
        ("conflict-53", "option 53 twice: DISCOVER then REQUEST", {"options": d53 + _opt(53, bytes([REQUEST])) + end}),
        ("no-53", "no message type at all (plain BOOTP)", {"options": prl + end}),
    ]
    for t in (0, 9, 14, 200, 255):
        specs.append((f"msg-type-{t}", f"message type {t}", {"options": _opt(53, bytes([t])) + end}))
    in_file = d53 + prl + end
    for value in (0, 1, 2, 3, 4, 255):
        specs.append((f"overload-{value}", f"option 52 = {value}, options also in file/sname",
                      {"options": _opt(52, bytes([value])) + end, "file": in_file, "sname": _opt(12, b"o") + end}))
    specs += [
        ("overload-nested", "option 52 inside the file field, pointing again",
         {"options": d53 + _opt(52, b"\x03") + end, "file": _opt(52, b"\x03") + prl + end,
          "sname": _opt(52, b"\x01") + end}),
        ("overload-empty-fields", "option 52 = 3 with empty file and sname",
         {"options": d53 + _opt(52, b"\x03") + end}),
        ("overload-twice", "option 52 twice", {"options": d53 + _opt(52, b"\x01") + _opt(52, b"\x02") + end}),
        ("pad-run-before", "200 PAD bytes before the options", {"options": b"\0" * 200 + d53 + prl + end}),
        ("pad-only", "only PAD and END", {"options": b"\0" * 300 + end}),
        ("split-hostname", "hostname split over two option 12 (RFC 3396)",
         {"options": d53 + _opt(12, b"pro") + _opt(12, b"be") + end}),
        ("split-prl", "parameter list split over two option 55",
         {"options": d53 + _opt(55, b"\x01\x03") + _opt(55, b"\x06\x33") + end}),
        ("long-option-area", "option area of 1200 bytes (vendor options)",
         {"options": d53 + b"".join(_opt(224 + i % 30, b"x" * 250) for i in range(4)) + prl + end}),
        ("opt82-sub-past-end", "option 82 whose sub-option runs past it",
         {"options": d53 + _opt(82, b"\x01\x09abc") + end}),
        ("opt82-zero", "option 82 with length 0", {"options": d53 + _opt(82, b"") + end}),
        ("opt82-zero-sub", "option 82 with a zero-length circuit-id", {"options": d53 + _opt(82, b"\x01\x00") + end}),
        ("opt82-unknown-sub", "option 82 with sub-option 200", {"options": d53 + _opt(82, b"\xc8\x02ab") + end}),
        ("hops-255", "hops 255", {"options": d53 + prl + end, "hops": 255}),
        ("hlen-0", "hlen 0", {"options": d53 + prl + end, "hlen": 0}),
        ("hlen-17", "hlen 17 (more than chaddr holds)", {"options": d53 + prl + end, "hlen": 17}),
        ("hlen-255", "hlen 255", {"options": d53 + prl + end, "hlen": 255}),
        ("cookie-zero", "magic cookie 00000000", {"options": d53 + prl + end, "cookie": b"\0\0\0\0"}),
        ("cookie-off-by-one", "magic cookie 63825364", {"options": d53 + prl + end, "cookie": b"\x63\x82\x53\x64"}),
    ]
    for code, label in ((12, "hostname"), (15, "domain"), (81, "fqdn")):
        for tag, text in (("nul", b"a\x00b"), ("non-utf8", b"\xff\xfe\xc3"),
                          ("shell", b"$(reboot);`id`|&>x"), ("long", b"h" * 255)):
            data = b"\x00\x00\x00" + text if code == 81 else text
            specs.append((f"{label}-{tag}", f"{label} ({code}) with {tag} text",
                          {"options": d53 + _opt(code, data[:255]) + end}))
    return [Spec(name, description, **how) for name, description, how in specs]


def malformed_cases(mac: str, *, new_xid: Callable[[], int], names: Iterable[str] | None = None) -> list[Case]:
    """One case per anomaly, each on an otherwise valid DISCOVER."""
    mac_b = mac_bytes(mac)
    wanted = set(names) if names is not None else None
    cases = []
    for spec in malformed_specs():
        if wanted is not None and spec.name not in wanted:
            continue
        xid = new_xid()
        payload = _bootp(xid, mac_b, spec.options, msg_hops=spec.hops, hlen=spec.hlen, cookie=spec.cookie,
                         sname=spec.sname, file=spec.file, pad_to=spec.pad_to)
        cases.append(Case(spec.name, spec.description, [_frame(payload, mac_b)], xid, len(payload), "malformed"))
    return cases


def parse_ranges(text: str) -> list[int]:
    """``"0-300,1400-1472,2000"`` as a list of ints (ranges inclusive)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            out.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
        except ValueError:
            raise ValueError(f"not a length or range: {part!r} (write e.g. 0-300,1400-1472)") from None
    return out
