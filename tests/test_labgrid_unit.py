"""The labgrid driver's binding, without a network or a coordinator: a local
NetworkInterface gives a session on it; a RemoteNetworkInterface without
labgrid's RawNetworkInterfaceDriver beside it is a one-line usage error."""

from __future__ import annotations

import pytest

pytest.importorskip("labgrid")

from labgrid import Target  # noqa: E402
from labgrid.resource import NetworkInterface  # noqa: E402
from labgrid.resource.remote import RemoteNetworkInterface  # noqa: E402

from scapy_dhcp_ext import UsageError  # noqa: E402
from scapy_dhcp_ext.labgrid import ScapyDhcpDriver  # noqa: E402


def test_a_local_interface_gives_a_session_on_it():
    target = Target("board")
    NetworkInterface(target, None, ifname="lo")
    driver = ScapyDhcpDriver(target, None)
    driver.on_activate()
    try:
        assert driver.session is not None and driver.session.iface == "lo"
        assert not driver.session.endpoint.transport.single_mac
    finally:
        driver.on_deactivate()
    assert driver.session is None


def test_a_remote_interface_needs_labgrids_raw_driver_and_says_so():
    target = Target("board")
    RemoteNetworkInterface(target, None, host="board-host", ifname="eth9")
    driver = ScapyDhcpDriver(target, None)
    assert driver.raw is None
    with pytest.raises(UsageError, match="eth9 is on board-host: put RawNetworkInterfaceDriver beside"):
        driver.on_activate()
    assert driver.session is None
