"""Dump, diff and edit packets: the engine behind ``%pkt_dump`` and ``%pkt_edit``.

Pure functions over Scapy packets (no IPython, no prompt_toolkit)::

    >>> text = dump(pkt)                      # one line per layer, DHCP options decoded
    >>> print(diff(offer, ack))               # field by field
    >>> new = quick_edit(pkt, ["BOOTP.hops=3", "DHCP.hostname=probe", "-DHCP.param_req_list"])

Assignments are ``Layer.field=VALUE``. ``DHCP.<option>=VALUE`` sets or replaces
an option by name or number (``DHCP.message-type=request``, ``DHCP.224=hex:0102``),
``DHCP.<option>=`` makes it zero-length, ``-DHCP.<option>`` removes it. Values
are read as Scapy would: numbers in any base (``0x10``), addresses, MACs,
enumerated names, ``hex:...`` or ``b'...'`` for bytes.

An edited copy has its IP and UDP lengths and checksums computed again when it
is built, unless the edit set them: then they are *pinned* and go out as set,
lies included (``IP.len=999``). Pins carry over to later edits of the copy;
``IP.len=auto`` unpins.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

from .frames import Frame, parse_frame
from .wire import MESSAGE_TYPES, mac_bytes, mac_str, option_name, option_number
from .wire import parse_value as wire_parse_value

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


# --- editing -----------------------------------------------------------------

def pins(pkt: Any) -> set[str]:
    return set(getattr(pkt, PINS_ATTR, set()))


def parse_value(text: str) -> Any:
    """A value as typed, read as everywhere else (:func:`.wire.parse_value`)."""
    try:
        return wire_parse_value(text)
    except ValueError as exc:
        raise EditError(str(exc)) from None


def _layer(pkt: Any, name: str) -> Any:
    from scapy.packet import Packet

    layer = pkt
    while isinstance(layer, Packet) and layer.__class__.__name__ != "NoPayload":
        if layer.__class__.__name__.lower() == name.lower():
            return layer
        layer = layer.payload
    present = []
    layer = pkt
    while isinstance(layer, Packet) and layer.__class__.__name__ != "NoPayload":
        present.append(layer.__class__.__name__)
        layer = layer.payload
    raise EditError(f"no {name} layer in this packet (it has {' / '.join(present)})")


def set_dhcp_option(layer: Any, key: str, value: Any, remove: bool = False) -> None:
    try:
        code = option_number(key)
    except ValueError as exc:
        raise EditError(str(exc)) from None
    from scapy.layers.dhcp import DHCPOptions

    entry = DHCPOptions.get(code)
    scapy_name = entry if isinstance(entry, str) else getattr(entry, "name", None)
    def same(o: Any) -> bool:
        return isinstance(o, tuple) and bool(o) and (o[0] == code or o[0] == scapy_name)

    where = next((i for i, o in enumerate(layer.options) if same(o)), None)
    opts = [o for o in layer.options if not same(o)]
    if not remove:
        if value == "" or isinstance(value, bytes):
            item: tuple[Any, ...] = (code, value or b"")       # raw payload, any length
        elif scapy_name is None:
            item = (code, str(value).encode())
        elif isinstance(value, (list, tuple)) and code != 55:  # 55 takes the list itself
            item = (scapy_name, *value)
        else:
            item = (scapy_name, value)
        end = next((i for i, o in enumerate(opts) if o == "end"), None)
        if where is not None:
            opts.insert(where, item)      # replaced where it was
        else:
            opts.insert(len(opts) if end is None else end, item)
            if end is None:
                opts.append("end")
    layer.options = opts


def apply(pkt: Any, assignment: str) -> None:
    """Applies one ``Layer.field=VALUE`` (or ``-DHCP.option``) to ``pkt`` in place."""
    text = assignment.strip()
    remove = text.startswith("-")
    if remove:
        text = text[1:]
    target, sep, raw = text.partition("=")
    if (not sep and not remove) or "." not in target:
        raise EditError(f"{assignment!r}: write Layer.field=VALUE, e.g. BOOTP.hops=3 or DHCP.hostname=probe")
    layer_name, _, field_name = target.partition(".")
    layer = _layer(pkt, layer_name)
    if layer.__class__.__name__ == "DHCP" and field_name != "options":
        set_dhcp_option(layer, field_name, parse_value(raw) if sep else None, remove=remove)
        _check_builds(pkt, assignment)
        return
    if remove:
        raise EditError(f"{assignment!r}: only DHCP options can be removed")
    try:
        fld = layer.get_field(field_name)
    except Exception:
        fld = None
    if fld is None:
        names = ", ".join(f.name for f in layer.fields_desc)
        raise EditError(f"{layer.__class__.__name__} has no field {field_name!r}; it has {names}")
    pinned = pins(pkt)
    key = f"{layer.__class__.__name__}.{field_name}"
    if raw.strip() == "auto":
        layer.setfieldval(field_name, None)
        pinned.discard(key)
    else:
        value = parse_value(raw)
        if layer.__class__.__name__ == "BOOTP" and field_name == "chaddr" and isinstance(value, str):
            try:
                value = mac_bytes(value).ljust(16, b"\0")  # a text MAC must not go in as its ASCII
            except ValueError as exc:
                raise EditError(str(exc)) from None
        if _is_field(fld, "MACField") and isinstance(value, str):
            try:
                mac_bytes(value)
            except ValueError as exc:
                raise EditError(f"{assignment!r}: {exc}") from None
        if _is_field(fld, "IPField") and isinstance(value, str):
            try:
                socket.inet_aton(value)  # an address, never a name to look up
            except OSError:
                raise EditError(f"{assignment!r}: not an IPv4 address") from None
        old = layer.getfieldval(field_name)
        try:
            layer.setfieldval(field_name, value)
            _check_builds(pkt, assignment)
        except Exception as exc:
            layer.setfieldval(field_name, old)
            if isinstance(exc, EditError):
                raise
            raise EditError(f"{assignment!r}: {exc}") from None
        if field_name in AUTO_FIELDS.get(layer.__class__.__name__, ()):
            pinned.add(key)
    object.__setattr__(pkt, PINS_ATTR, pinned)


def _is_field(fld: Any, kind: str) -> bool:
    import scapy.fields

    return isinstance(getattr(fld, "fld", fld), getattr(scapy.fields, kind))


def _check_builds(pkt: Any, assignment: str) -> None:
    try:
        bytes(pkt)
    except Exception as exc:
        raise EditError(f"{assignment!r}: the packet does not build with that value: {exc}") from None


def unpin_auto_fields(pkt: Any) -> None:
    """Lets Scapy compute lengths and checksums again, except pinned ones."""
    pinned = pins(pkt)
    for layer_name, names in AUTO_FIELDS.items():
        try:
            layer = _layer(pkt, layer_name)
        except EditError:
            continue
        for name in names:
            if f"{layer_name}.{name}" not in pinned:
                layer.setfieldval(name, None)


def copy_for_edit(pkt: Any) -> Any:
    """A copy to edit: same fields, pins carried over, the rest recomputed."""
    new = to_packet(pkt).copy()
    object.__setattr__(new, PINS_ATTR, pins(to_packet(pkt)))
    unpin_auto_fields(new)
    return new


class Edited:
    """An edited packet as the prompt shows it: the compact view of
    ``%pkt_dump``, not Scapy's long repr. ``.packet`` is the Scapy packet; its
    layers and fields read through (``e[BOOTP].hops``, ``e.show()``,
    ``bytes(e)``), and every tool here takes it where it takes a packet."""

    def __init__(self, packet: Any) -> None:
        self.packet = packet

    def __getattr__(self, name: str) -> Any:
        if name == "packet":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.packet, name)

    def __getitem__(self, key: Any) -> Any:
        return self.packet[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.packet

    def __bytes__(self) -> bytes:
        return bytes(self.packet)

    def __repr__(self) -> str:
        return dump(self.packet)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(repr(self))}</pre>"


def quick_edit(obj: Any, assignments: Iterable[str]) -> Any:
    """An edited copy of ``obj``; the original is untouched."""
    new = copy_for_edit(obj)
    for assignment in assignments:
        apply(new, assignment)
    return new
