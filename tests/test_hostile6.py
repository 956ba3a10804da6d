"""The hostile DHCPv6 reply catalog from a fake server in a lab namespace,
through the real socket: each case is shown for what it is (malformed with its
reason, or ignored as not ours), nothing but the project's own errors come
out, and the same session gets a v6 lease afterwards."""

from __future__ import annotations

import pytest
from scapy.layers.l2 import Ether

from scapy_dhcp_ext import DhcpError, DhcpSession
from scapy_dhcp_ext.front.helpers import PacketTools
from scapy_dhcp_ext.lab import Lab
from tests.support import running_in
from tests.support.hostile6 import ADDRESS6, CATALOG

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def hostile6(tmp_path_factory):
    from tests.conftest import _need_root

    _need_root()
    tmp = tmp_path_factory.mktemp("hostile6")
    control = tmp / "case"
    control.write_text("normal")
    with Lab([], extra=1) as lab, running_in(lab.extra_netns[0], "hostile_server6", "eth0", str(control),
                                              ready=control.with_suffix(".ready")):
        session = DhcpSession(lab.iface, state_file=str(tmp / "state.json"), timeout=0.4)
        yield session, control
        session.close()


@pytest.mark.parametrize("case", [c for c in CATALOG if c != "normal"])
@pytest.mark.parametrize("how", ["advertise", "rapid-commit reply"])
def test_hostile_v6_reply(hostile6, case, how):
    session, control = hostile6
    v6 = session.v6
    expect = CATALOG[case][1]
    control.write_text(case)
    v6.reset()
    try:
        if how == "advertise":
            v6.solicit(ia_pd=True, window=0.1)
        else:
            v6.sarr(ia_pd=True, rapid_commit=True)
    except DhcpError:
        pass
    result = v6.last
    frames = result.received + result.ignored
    if expect == "ignored":
        assert result.status == "timeout" and result.ignored and not result.received
    elif expect == "bound":
        assert result.status == ("offered" if how == "advertise" else "bound")
    elif how == "advertise":   # kept and flagged with its reason; never requested
        words = expect.split(": ", 1)[1]
        assert any(words in p for p in result.offers[0].frame.problems), result.offers[0].frame.problems
    else:
        assert result.status == "malformed" and expect.split(": ", 1)[1] in result.note and v6.lease is None
    for frame in frames[:5]:
        Ether(frame.raw).summary()
        assert frame.summary() and PacketTools(session).pkt_dump(frame.packet)
    control.write_text("normal")
    v6.reset()
    assert v6.sarr().lease.address == ADDRESS6
