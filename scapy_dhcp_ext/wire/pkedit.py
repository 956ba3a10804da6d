"""Edit packets: the engine behind ``%pkt_edit`` and the editor.

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

from . import mac_bytes, option_number
from . import parse_value as wire_parse_value
from .pktools import AUTO_FIELDS, PINS_ATTR, EditError, dump, pins, to_packet


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
