"""The wire format, written once: layouts, offsets, checksums, the option walker, the tables.

This is the lowest layer (``docs/architecture.md``). Everything that builds or
reads bytes (here :mod:`.messages4`, :mod:`.frames4`, :mod:`.replies4` and their v6
twins; above, the link's transports, the workloads' cases, sweeps and loads, and
the test doubles) takes its offsets, ``struct`` formats, checksums and option tables from here,
so a layout is fixed in one place. Pure code: no sockets, no Scapy (except the
option-name tables, read once on first use).

RFCs: 791 (IPv4), 768 (UDP), 826 (ARP), 792 (ICMP echo), 951 and 2131 (BOOTP
and DHCP), 2132 (options), 3396 (long options joined), 2131 4.1 / option 52
(overload). The checksum helpers take any pseudo-header, so IPv6 (RFC 8200
8.1) fits beside them.

Usage::

    >>> area = walk_options(options_bytes)          # never raises
    >>> area.items[0]                                # (offset, code, payload)
    >>> find_option(frame, 53, FRAME_OPTIONS)        # the message type, fast
    >>> patch_checksums(bytearray(frame))            # after changing bytes in place
"""

from __future__ import annotations

from .layout import *  # noqa: F403
from .layout import __all__ as _layout_all
from .options import *  # noqa: F403
from .options import __all__ as _options_all

__all__ = [*_layout_all, *_options_all]
