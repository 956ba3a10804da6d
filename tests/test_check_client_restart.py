"""Part four of check_client() against the real clients: a REQUEST nobody answers (slow),
option 108 and a DHCPINFORM, each verdict held against what tshark saw on the link and what
the client logged."""

from __future__ import annotations

import subprocess

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.workloads.client_checks4_restart import CHECKS
from tests.support.prompt import prompt
from tests.support.witness import Capture
from tests.test_check_client import FIELDS, frames

pytestmark = pytest.mark.lab

IDS = [c.id for c in CHECKS]
INFORMS = [i for i in IDS if i.startswith("inform-")]


def unanswered_request(fr) -> float:
    """When its first REQUEST in SELECTING that got neither ACK nor NAK went (an earlier bind's was ACKed)."""
    answered = {r["dhcp.id"] for t, k, r in fr if k in ("ACK", "NAK")}
    return next(t for t, k, r in fr if k == "REQUEST" and r["dhcp.ip.client"] == "0.0.0.0"
                and r["dhcp.option.dhcp_server_id"] and r["dhcp.id"] not in answered)


def after(fr, t, kinds, within):
    """The client's messages (``kinds``) in the ``within`` s after ``t``, from tshark's rows."""
    return [(when, k, r) for when, k, r in fr if t < when <= t + within and k in kinds and r["dhcp.type"] == "1"]


def test_dhcpcd_requests_for_ever_keeps_rfc_8925_and_informs_as_table_5_says(make_lab):
    """dhcpcd (as the lab runs it, asking for option 108) retransmits an unanswered REQUEST on its
    back-off for as long as it is watched (warn), takes an OFFER whose option 108 is 2 bytes long,
    and turns IPv4 off on one with 300 s (its log: "IPv6-Only Preferred received (300 seconds)");
    given its address by hand, its DHCPINFORM keeps table 5 (tshark's fields; its log: "received
    approval")."""
    lab = make_lab([], clients=["dhcpcd"])
    client = lab.clients[0]
    with DhcpSession(lab.iface, state_file=False) as s, Capture(lab.netns, "c0", lab.iface, FIELDS) as cap:
        report = s.check_client(restart=client.restart, release=client.release, inform=client.inform, only=IDS,
                                slow=True, progress=False)
    assert report.verdicts() == {"request-unanswered-back-to-init": "warn", "v6only-wrong-length-ignored": "pass",
                                 "v6only-offer-not-requested": "pass", "v6only-wait-honoured": "pass",
                                 **dict.fromkeys(INFORMS, "pass")}, report
    fr = frames(cap, client.mac)
    # Its REQUEST retransmitted, the same xid on each, and no DISCOVER until the 108 OFFERs began.
    offers = [(t, r) for t, k, r in fr if k == "OFFER"]
    with_108 = [(t, r) for t, r in offers if "108" in r["dhcp.option.type"].split(",")]
    assert len(with_108) == 2, with_108
    first_req = unanswered_request(fr)
    retries = [r for t, k, r in fr if k == "REQUEST" and first_req <= t < with_108[0][0] - 15]
    assert len(retries) >= 5 and len({r["dhcp.id"] for r in retries}) == 1, retries
    assert not after(fr, first_req, ("DISCOVER",), 125), "it went back to INIT: the warn would be wrong"
    # The 2-byte option ignored: a REQUEST for it; the 4-byte one obeyed: nothing for 10 s.
    assert after(fr, with_108[0][0], ("REQUEST",), 10)
    assert not after(fr, with_108[1][0], ("DISCOVER", "REQUEST"), 10)
    said = client.log
    assert said.count("IPv6-Only Preferred received (300 seconds)") == 1, said
    # The DHCPINFORM, as tshark reads it: ciaddr its address, from it, 68 to 67, no option 50, 51 or 54.
    (inform,) = [r for t, k, r in fr if k == "INFORM"]
    assert inform["dhcp.ip.client"] == inform["ip.src"] != "0.0.0.0" and inform["dhcp.ip.your"] == "0.0.0.0"
    assert (inform["udp.srcport"], inform["udp.dstport"]) == ("68", "67") and inform["dhcp.hops"] == "0"
    assert not {"50", "51", "54"} & set(inform["dhcp.option.type"].split(","))
    assert f"received approval for {inform['dhcp.ip.client']}" in said, said
    # A restart takes the address set by hand away again (no server answers now: none comes back).
    client.restart()
    shown = subprocess.run(["ip", "-n", client.netns, "-4", "addr", "show", "dev", "eth0"], capture_output=True,
                           text=True, check=True).stdout
    assert inform["dhcp.ip.client"] not in shown, shown


def test_udhcpc_goes_back_to_init_and_is_not_judged_on_108_through_the_magic(make_lab, tmp_path, monkeypatch):
    """``%dhcp_check client --slow``: udhcpc (``-T 1``) sends its REQUEST three times, a second apart,
    then DISCOVERs (pass); it does not ask for option 108 (n/a, and no OFFER with 108 is sent) and
    has no DHCPINFORM (n/a)."""
    lab = make_lab([], clients=["udhcpc"])
    board = lab.clients[0]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    with DhcpSession(lab.iface, state_file=False) as session, prompt(session, restart_board=board.restart) as ip, \
            Capture(lab.netns, "c0", lab.iface, FIELDS) as cap:
        result = ip.run_cell(f"%dhcp_check client --only {','.join(IDS)} --restart restart_board --slow "
                             "--no-progress")
        result.raise_error()
        report = result.result
    assert report.verdicts() == {"request-unanswered-back-to-init": "pass", "v6only-wrong-length-ignored": "n/a",
                                 "v6only-offer-not-requested": "n/a", "v6only-wait-honoured": "n/a",
                                 **dict.fromkeys(INFORMS, "n/a")}, report   # BusyBox has no INFORM
    fr = frames(cap, board.mac)
    assert not [r for t, k, r in fr if k == "OFFER" and "108" in r["dhcp.option.type"].split(",")]
    first_req = unanswered_request(fr)
    back = after(fr, first_req, ("DISCOVER",), 30)
    assert back, "no DISCOVER after its REQUESTs"
    sent = [r for t, k, r in fr if k == "REQUEST" and first_req <= t < back[0][0]]
    assert len(sent) == 3 and len({r["dhcp.id"] for r in sent}) == 1, sent   # BusyBox: three tries, one xid
    assert back[0][2]["dhcp.id"] != sent[0]["dhcp.id"]


def test_the_inform_checks_through_the_magic_with_a_lever_typed_at_the_prompt(make_lab, tmp_path, monkeypatch):
    """``%dhcp_check client --inform EXPR``: the lever a user types (here dhcpcd's, under a name of
    their own) is the one used: every inform-* check passes and dhcpcd's own log says it was
    answered; without it (a session with no lab client to default to) each is n/a and says why."""
    lab = make_lab([], clients=["dhcpcd"])
    board = lab.clients[0]
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    with DhcpSession(lab.iface, state_file=False) as session, \
            prompt(session, restart_board=board.restart, static_board=board.inform) as ip:
        assert session.inform_device is None
        result = ip.run_cell(f"%dhcp_check client --only {','.join(INFORMS)} --restart restart_board "
                             "--no-progress")
        result.raise_error()
        without = result.result
        result = ip.run_cell(f"%dhcp_check client --only {','.join(INFORMS)} --restart restart_board "
                             "--inform static_board --no-progress")
        result.raise_error()
        report = result.result
    assert without.verdicts() == dict.fromkeys(INFORMS, "n/a"), without
    assert all("inform=" in row.why for row in without.rows), [row.why for row in without.rows]
    assert report.verdicts() == dict.fromkeys(INFORMS, "pass"), report
    assert "received approval for" in board.log   # dhcpcd's own word: its DHCPINFORM was ACKed
