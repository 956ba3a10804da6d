"""Dump and diff packets: the engine behind ``%pkt_dump`` (and :mod:`.pkedit` behind ``%pkt_edit``).

Pure functions over Scapy packets (no IPython, no prompt_toolkit)::

    >>> text = dump(pkt)                      # one line per layer, DHCP options decoded
    >>> print(diff(offer, ack))               # field by field
    >>> new = quick_edit(pkt, ["BOOTP.hops=3", "DHCP.hostname=probe", "-DHCP.param_req_list"])

Editing (``quick_edit``, ``apply``, the pins) is :mod:`.pkedit`.
"""

from __future__ import annotations

from typing import Any

from . import MESSAGE_TYPES, mac_str, option_name
from .frames4 import Frame, parse_frame

AUTO_FIELDS = {"IP": ("len", "chksum", "ihl"), "UDP": ("len", "chksum")}
PINS_ATTR = "_scapy_dhcp_pins"


class EditError(ValueError):
    """An assignment that cannot be applied; the message says why."""


def to_packet(obj: Any) -> Any:
    """A Scapy packet from a packet, a Frame, an Offer, a history entry, a
    result (its last reply, else its last frame sent) or raw bytes."""
    from scapy.packet import Packet

    if isinstance(obj, Packet):
        return obj
    if isinstance(obj, Frame):
        return obj.packet
    if isinstance(obj, (bytes, bytearray)):
        return parse_frame(bytes(obj)).packet
    if hasattr(obj, "received") and hasattr(obj, "sent"):  # a Result
        if obj.received:
            return obj.received[-1].packet
        if obj.sent:
            return parse_frame(obj.sent[-1][1]).packet
        raise EditError(f"{obj.operation} has no packets")
    if hasattr(obj, "packet"):  # Offer, HistoryEntry
        return obj.packet
    raise EditError(f"not a packet: {type(obj).__name__} (give a packet, a result or bytes)")


def to_packets(obj: Any) -> list[Any]:
    """Every packet in ``obj``: a list, a PacketList, a result (all its frames), or one packet."""
    from scapy.plist import PacketList

    if isinstance(obj, PacketList):
        return list(obj)
    if isinstance(obj, (list, tuple)):
        return [to_packet(o) for o in obj]
    if hasattr(obj, "received") and hasattr(obj, "sent"):
        return list(obj.packets)
    return [to_packet(obj)]


# --- dumping -----------------------------------------------------------------

def _option_text(opt: Any) -> str:
    if isinstance(opt, tuple) and opt:
        known = isinstance(opt[0], int) and option_name(opt[0]) != str(opt[0])
        name = f"{opt[0]} ({option_name(opt[0])})" if known else str(opt[0])
        values = ", ".join(_value_text(v) for v in opt[1:])
        if opt[0] == "message-type" and len(opt) == 2 and isinstance(opt[1], int):
            values = f"{opt[1]} ({MESSAGE_TYPES.get(opt[1], 'unknown')})"
        return f"{name}={values}"
    if isinstance(opt, str):
        return opt
    return f"MALFORMED {bytes(opt).hex()}"


def _value_text(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            text = value.decode("ascii")
            if text.isprintable():
                return repr(text)
        except UnicodeDecodeError:
            pass
        return "hex:" + value.hex()
    return str(value)


def compact(pkt: Any) -> str:
    """One summary line per layer, DHCP options one per line, problems marked."""
    from scapy.layers.dhcp import DHCP

    lines = []
    layer = pkt
    while layer is not None and layer.name != "NoPayload" and layer.__class__.__name__ != "NoPayload":
        if isinstance(layer, DHCP):
            lines.append("DHCP options:")
            for opt in layer.options:
                if opt == "pad":
                    continue
                lines.append(f"    {_option_text(opt)}")
        else:
            lines.append(f"{layer.__class__.__name__:6} {layer.mysummary() if hasattr(layer, 'mysummary') else ''}"
                         .rstrip() + _layer_fields(layer))
        layer = layer.payload if layer.payload else None
    try:
        problems = parse_frame(bytes(pkt)).problems
    except Exception as exc:  # a packet the user broke on purpose may not build
        problems = [f"does not build: {exc}"]
    lines += [f"!! {p}" for p in problems]
    return "\n".join(lines)


def _layer_fields(layer: Any) -> str:
    name = layer.__class__.__name__
    keep = {"Ether": ("src", "dst"), "IP": ("src", "dst", "len", "ttl"), "UDP": ("sport", "dport", "len"),
            "BOOTP": ("op", "xid", "flags", "ciaddr", "yiaddr", "siaddr", "giaddr", "hops", "chaddr")}.get(name)
    if keep is None:
        return ""
    parts = []
    for f in keep:
        v = layer.getfieldval(f)
        if name == "BOOTP" and f == "chaddr":
            v = mac_str(bytes(v))
        elif name == "BOOTP" and f == "xid":
            v = f"{v:#010x}"
        elif v is None:
            v = "auto"
        parts.append(f"{f}={v}")
    return "  [" + " ".join(parts) + "]"


def dump(obj: Any, mode: str = "compact") -> str:
    """The packet(s) in ``obj`` as text: compact, show, hex, summary, raw, ls."""
    from scapy.utils import hexdump

    out = []
    for pkt in to_packets(obj):
        if mode == "compact":
            out.append(compact(as_built(pkt)) + (f"\npinned: {', '.join(sorted(pins(pkt)))}" if pins(pkt) else ""))
        elif mode == "show":
            out.append(pkt.show(dump=True))
        elif mode == "hex":
            out.append(str(hexdump(pkt, dump=True)))
        elif mode == "summary":
            out.append(pkt.summary())
        elif mode == "raw":
            out.append(repr(bytes(pkt)))
        elif mode == "ls":
            out.append(_ls(pkt))
        else:
            raise EditError(f"unknown view {mode!r}: compact, show, hex, summary, raw or ls")
    return ("\n\n" if mode in ("compact", "show", "hex", "ls") else "\n").join(out)


def _ls(pkt: Any) -> str:
    rows = []
    for layer_name, fname, value in fields(pkt):
        rows.append(f"{layer_name + '.' + fname:24} = {value!r}")
    return "\n".join(rows)


def fields(pkt: Any) -> list[tuple[str, str, Any]]:
    """(layer, field, value) for every field of every layer; DHCP options by name."""
    from scapy.layers.dhcp import DHCP

    out: list[tuple[str, str, Any]] = []
    layer = pkt
    while layer is not None and layer.__class__.__name__ != "NoPayload":
        name = layer.__class__.__name__
        if isinstance(layer, DHCP):
            for i, opt in enumerate(layer.options):
                if isinstance(opt, tuple) and opt:
                    out.append((name, str(opt[0]), opt[1] if len(opt) == 2 else list(opt[1:])))
                elif not isinstance(opt, str):
                    out.append((name, f"malformed#{i}", bytes(opt)))
        else:
            for f in layer.fields_desc:
                out.append((name, f.name, layer.getfieldval(f.name)))
        layer = layer.payload if layer.payload else None
    return out


def as_built(pkt: Any) -> Any:
    """The packet as it goes on the wire: built, then read back, so computed
    lengths and checksums show their values. Unbuildable: as it is."""
    from scapy.layers.l2 import Ether

    try:
        return Ether(bytes(pkt)) if pkt.__class__.__name__ == "Ether" else pkt.__class__(bytes(pkt))
    except Exception:
        return pkt


def diff(a: Any, b: Any) -> str:
    """What differs on the wire, field by field, between two packets (DHCP options by name)."""
    left = {(layer, name): value for layer, name, value in fields(as_built(to_packet(a)))}
    right = {(layer, name): value for layer, name, value in fields(as_built(to_packet(b)))}
    keys = list(left) + [k for k in right if k not in left]
    rows = []
    for key in keys:
        va, vb = left.get(key, "<absent>"), right.get(key, "<absent>")
        if va != vb:
            rows.append(f"{key[0] + '.' + key[1]:24} {_short(va):>24}  ->  {_short(vb)}")
    return "\n".join(rows) if rows else "no differences"


def _short(value: Any) -> str:
    text = _value_text(value) if isinstance(value, bytes) else repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def write_pcap(obj: Any, path: str) -> str:
    from scapy.utils import wrpcap

    wrpcap(path, to_packets(obj))
    return path


def pins(pkt: Any) -> set[str]:
    return set(getattr(pkt, PINS_ATTR, set()))
