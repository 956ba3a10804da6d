"""``scapy_dhcp_ext.labgrid``, the name labgrid environment files import: the
driver and strategy live in :mod:`scapy_dhcp_ext.front.labgrid`."""

from .front.labgrid import DhcpAddressStrategy, ScapyDhcpDriver, Status

__all__ = ["DhcpAddressStrategy", "ScapyDhcpDriver", "Status"]
