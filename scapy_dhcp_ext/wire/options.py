"""DHCP options: the one walker over raw bytes (RFC 3396 joining, option 52
overload), the option tables, names, and the one value parser. Pure code."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Iterator

from .layout import FRAME_OPTIONS, Bootp

__all__ = [
    "FIXED_SIZES",
    "ADDRESS_LISTS",
    "TEXT_OPTIONS",
    "PAD",
    "END",
    "OVERLOAD",
    "MAX_OPTION_ITEMS",
    "DEFAULT_PRL",
    "OPTION_NAMES",
    "OptionArea",
    "iter_options",
    "walk_options",
    "find_option",
    "Options",
    "read_options",
    "OptionError",
    "option_tables",
    "option_number",
    "option_name",
    "parse_value",
]

# --- options ----------------------------------------------------------------------

# Options whose payload has one fixed size, and those made of 4-byte addresses (RFC 2132).
FIXED_SIZES = {1: 4, 2: 4, 19: 1, 20: 1, 22: 2, 23: 1, 24: 4, 26: 2, 27: 1, 29: 1, 30: 1, 31: 1, 34: 1,
               35: 4, 36: 1, 37: 1, 38: 4, 39: 1, 46: 1, 50: 4, 51: 4, 52: 1, 53: 1, 54: 4, 57: 2, 58: 4, 59: 4}
ADDRESS_LISTS = {3, 4, 5, 6, 7, 8, 9, 10, 11, 41, 42, 44, 45, 48, 49, 65, 68, 69, 70, 71, 72, 73, 74, 75, 76}
TEXT_OPTIONS = {12: "hostname", 14: "merit dump", 15: "domain", 17: "root path", 40: "NIS domain",
                56: "message", 64: "NIS+ domain", 66: "TFTP server", 67: "boot file"}
PAD, END, OVERLOAD = 0, 255, 52
MAX_OPTION_ITEMS = 2048  # bounds the work on a hostile option area
DEFAULT_PRL = (1, 3, 6, 15, 51, 54, 58, 59)


@dataclass
class OptionArea:
    """What :func:`walk_options` found in one area (options, file or sname).

    ``items`` are (offset, code, payload) in order, PAD left out. ``problem``
    says, in words, why the walk stopped early (None: it reached END)."""

    items: list[tuple[int, int, bytes]] = field(default_factory=list)
    end: int | None = None          # offset of END
    problem: str | None = None

    def codes(self) -> list[int]:
        return [code for _at, code, _payload in self.items]


def iter_options(data: bytes, start: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """The one option walker: (offset, code, payload) from ``start`` up to END,
    PAD skipped. It stops (without raising) at END, at the end of ``data``, at
    an option whose length runs past it, or after MAX_OPTION_ITEMS items; a
    caller that needs to know why uses :func:`walk_options`."""
    i, n, count = start, len(data), 0
    while i < n and count < MAX_OPTION_ITEMS:
        code = data[i]
        if code == PAD:
            i += 1
            continue
        if code == END or i + 1 >= n:
            return
        length = data[i + 1]
        if i + 2 + length > n:
            return
        count += 1
        yield i, code, data[i + 2:i + 2 + length]
        i += 2 + length


def walk_options(data: bytes, start: int = 0) -> OptionArea:
    """Walks one option area and says what, if anything, is wrong with it."""
    area = OptionArea()
    i = start
    for i, code, payload in iter_options(data, start):
        area.items.append((i, code, payload))
    i = area.items[-1][0] + 2 + len(area.items[-1][2]) if area.items else start
    while i < len(data) and data[i] == PAD:
        i += 1
    if len(area.items) >= MAX_OPTION_ITEMS:
        area.problem = f"more than {MAX_OPTION_ITEMS} option items"
    elif i >= len(data):
        area.problem = "no END option"
    elif data[i] == END:
        area.end = i
    elif i + 1 >= len(data):
        area.problem = f"option {data[i]} is cut off after its code"
    else:
        area.problem = f"option {data[i]} has length {data[i + 1]} but only {len(data) - i - 2} bytes remain"
    return area


def find_option(data: bytes, code: int, start: int = FRAME_OPTIONS) -> bytes | None:
    """The first instance of option ``code`` in the area from ``start`` (by
    default the options of a frame we build), or None. For fast paths."""
    for _at, c, payload in iter_options(data, start):
        if c == code:
            return payload
    return None


@dataclass
class Options:
    """Every option of a DHCP message, read as RFC 3396 and RFC 2131 say: the
    options field, then file and sname when option 52 says so, and the
    instances of one code joined in order."""

    chunks: dict[int, list[bytes]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    overload: int = 0
    end: bool = False
    end_at: int | None = None       # offset of END in the options field
    problems: list[str] = field(default_factory=list)

    def joined(self, code: int) -> bytes | None:
        parts = self.chunks.get(code)
        return b"".join(parts) if parts is not None else None


def read_options(bootp: bytes) -> Options:
    """The options of a BOOTP message whose cookie is in place. Never raises."""
    out = Options()
    areas = [("options", bootp[Bootp.OPTIONS:])]
    main = walk_options(areas[0][1])
    walked = [("options", main)]
    overloads = [p for _at, c, p in main.items if c == OVERLOAD]
    out.overload = overloads[0][0] if overloads and len(overloads[0]) == 1 else 0
    if out.overload & 1:
        walked.append(("file field", walk_options(bootp[Bootp.FILE:Bootp.FILE + Bootp.FILE_LEN])))
    if out.overload & 2:
        walked.append(("sname field", walk_options(bootp[Bootp.SNAME:Bootp.SNAME + Bootp.SNAME_LEN])))
    for where, area in walked:
        if area.problem and (where == "options" or area.problem != "no END option"):
            out.problems.append(area.problem + ("" if where == "options" else f" ({where})"))
        for _at, code, payload in area.items:
            out.chunks.setdefault(code, []).append(payload)
            if code not in out.order:
                out.order.append(code)
    out.end = main.end is not None
    if main.end is not None:
        out.end_at = main.end
        tail = areas[0][1][main.end + 1:]
        if tail.strip(b"\0"):
            out.problems.append(f"{len(tail)} bytes after END, not all PAD")
    return out


# --- option names and values -----------------------------------------------------------

class OptionError(ValueError):
    """An option given by the user that cannot be encoded."""


@dataclass(frozen=True)
class _OptionTables:
    by_name: dict[str, int]      # normalised name -> code
    scapy_name: dict[int, str]   # code -> Scapy's name
    field: Any                   # Scapy's DHCPOptionsField, to encode typed values


_TABLES: list[_OptionTables] = []   # filled once: a read-only cache, not state

# The project's own names, one per option: the helpers' keywords (``dora(vendor_class=...)``) and the
# frames' readers (``Frame.dns_servers``) say these, and ``options={...}`` means the same by them.
# Scapy's names are accepted too, except where one of these takes the word: Scapy calls option 124
# "vendor_class" and option 60 "vendor_class_id"; here vendor_class is 60, as everywhere else in
# scapy-dhcp, and 124 is vi_vendor_class (RFC 3925).
OPTION_NAMES: dict[str, int] = {
    "subnet_mask": 1, "routers": 3, "dns_servers": 6, "hostname": 12, "domain": 15, "broadcast_address": 28,
    "ntp_servers": 42, "vendor_specific": 43, "requested_address": 50, "lease_time": 51, "overload": 52,
    "message_type": 53, "server_id": 54, "param_req_list": 55, "message": 56, "max_message_size": 57,
    "renewal_time": 58, "rebinding_time": 59, "vendor_class": 60, "client_id": 61, "tftp_server": 66,
    "bootfile": 67, "user_class": 77, "client_fqdn": 81, "relay_agent_info": 82, "v6_only_preferred": 108,
    "captive_portal": 114, "domain_search": 119, "classless_static_routes": 121, "vi_vendor_class": 124,
    "vi_vendor_specific": 125, "forcerenew_nonce": 145, "dnr": 162,
}
PROJECT_NAME = {code: name for name, code in OPTION_NAMES.items()}


def option_tables() -> _OptionTables:
    """Scapy's DHCP option names, read on first use (importing Scapy's DHCP layer costs time)."""
    if not _TABLES:
        from scapy.layers.dhcp import DHCPOptionsField, DHCPRevOptions

        _TABLES.append(_OptionTables(
            by_name={k.lower().replace("-", "_"): num for k, (num, _f) in DHCPRevOptions.items()},
            scapy_name={num: k for k, (num, _f) in DHCPRevOptions.items()},
            field=DHCPOptionsField("options", b"")))
    return _TABLES[0]


def option_number(key: int | str) -> int:
    """The option code for a number or a name: the project's (:data:`OPTION_NAMES`), else Scapy's;
    ``-`` and ``_`` alike."""
    if isinstance(key, int):
        if not 0 <= key <= 255:
            raise OptionError(f"option code {key} is out of range 0..255")
        return key
    text = str(key).strip()
    if text.isdigit():
        return option_number(int(text))
    name = text.lower().replace("-", "_")
    if name in OPTION_NAMES:
        return OPTION_NAMES[name]
    try:
        return option_tables().by_name[name]
    except KeyError:
        raise OptionError(f"unknown DHCP option {key!r}; give its number, e.g. (224, b'...')") from None


def option_name(code: int) -> str:
    """The name of an option code: the project's, else Scapy's (the number as text when it has none)."""
    return PROJECT_NAME.get(code) or option_tables().scapy_name.get(code, str(code))


def parse_value(text: str) -> Any:
    """A value as a person types it at the prompt or in a magic, read one way
    everywhere (``%pkt_edit``, ``--option``, ``options=``): ``hex:0102`` or
    ``b'..'`` is bytes; a number in any base (``0x10``, ``0o7``, ``16``) is an
    int; other Python literals (lists, quoted text) are what they say; anything
    else is the text itself. Nothing is ever ``eval``'d."""
    text = text.strip()
    if text.startswith("hex:"):
        try:
            return bytes.fromhex(text[4:])
        except ValueError:
            raise ValueError(f"not hex: {text!r} (write hex:0102)") from None
    try:
        value = ast.literal_eval(text)  # literals only
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return text
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, bytes, str, list, tuple, float)):
        return value
    return text
