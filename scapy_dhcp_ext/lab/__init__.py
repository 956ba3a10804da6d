"""The lab: real DHCP servers (dnsmasq, Kea; v4 and v6) or clients (udhcpc,
dhcpcd) in network namespaces that it makes and removes, one veth link away.

    >>> from scapy_dhcp_ext.lab import Lab
    >>> with Lab("kea") as lab: ...

:mod:`.lab` builds the link and runs the parts, :mod:`.servers` and
:mod:`.clients` start and read the programs, :mod:`.common` finds and removes
what a lab left (by name and PID).
"""

from __future__ import annotations

from .clients import CLIENT_KINDS, Client
from .common import PREFIX, LabError, cleanup_stale, list_namespaces, remove_lab
from .lab import Lab
from .servers import SERVER_KINDS, Lease, Lease6Row, Server

__all__ = ["CLIENT_KINDS", "PREFIX", "SERVER_KINDS", "Client", "Lab", "LabError", "Lease", "Lease6Row", "Server",
           "cleanup_stale", "list_namespaces", "remove_lab"]
