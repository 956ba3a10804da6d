"""``scapy_dhcp_ext.shell``, the name a Scapy startup file copied before the
layered package imports: the shell lives in :mod:`scapy_dhcp_ext.front.shell`."""

from .front.shell import scapy_startup

__all__ = ["scapy_startup"]
