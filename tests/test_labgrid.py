"""The labgrid driver on the real engine: labgrid's own pytest plugin
(``--lg-env``) with an environment file whose NetworkInterface is a lab link,
run as a user runs it, in a folder of its own."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from scapy_dhcp_ext.workloads.server_checks4 import SERVER_CHECKS
from tests.test_check_server import DEVIATIONS, server_version
from tests.test_pytest_plugin import cases, props, run_pytest

pytestmark = pytest.mark.lab

ENV = """\
targets:
  main:
    resources:
      NetworkInterface:
        ifname: {iface}
    drivers:
      ScapyDhcpDriver: {{}}
imports:
  - scapy_dhcp_ext.labgrid
"""


def test_a_labgrid_target_drives_dhcp_and_shares_the_session_with_the_dhcp_fixture(make_lab, tmp_path):
    lab = make_lab("dnsmasq")
    (tmp_path / "env.yaml").write_text(ENV.format(iface=lab.iface))
    xml = tmp_path / "r.xml"
    out = run_pytest(tmp_path, "--lg-env", "env.yaml", f"--junitxml={xml}", "-s", tests="""
        def test_the_driver(target):
            dhcp = target.get_driver("ScapyDhcpDriver")
            target.activate(dhcp)
            lease = dhcp.dora().lease
            report = dhcp.check_server(only=["xid-echoed", "offer-has-server-id"])
            assert report.verdicts() == {"xid-echoed": "pass", "offer-has-server-id": "pass"}
            print("LEASE", lease.address, dhcp.session.mac)

        def test_both_fixtures_in_one_run(target, dhcp):
            assert dhcp is target.get_driver("ScapyDhcpDriver").session
            assert dhcp.dora().lease.server_id == "10.77.0.1"
    """)
    assert out.returncode == 0, out.stdout + out.stderr
    assert set(cases(xml)) == {"test_the_driver", "test_both_fixtures_in_one_run"}
    address, mac = re.search(r"LEASE (\S+) (\S+)", out.stdout).groups()
    assert lab.servers[0].lease_for(mac).address == address   # dnsmasq's own database


def test_conformance_items_run_through_the_labgrid_driver(make_lab, tmp_path):
    lab = make_lab("kea")
    (tmp_path / "env.yaml").write_text(ENV.format(iface=lab.iface))
    xml = tmp_path / "r.xml"
    out = run_pytest(tmp_path, "--lg-env", "env.yaml", "--dhcp-conformance", "server", f"--junitxml={xml}")
    assert out.returncode == 0, out.stdout + out.stderr
    got = cases(xml)
    assert list(got) == [c.id for c in SERVER_CHECKS]
    assert props(got["xid-echoed"]) == {"rfc": "2131 4.3.1", "level": "MUST", "verdict": "pass"}
    # The environment file named the only interface: Kea's own log shows the checks' leases on it.
    assert "DHCP4_LEASE_ALLOC" in lab.servers[0].log


def test_the_strategy_power_cycles_the_board_and_fills_in_its_address(make_lab, tmp_path):
    """labgrid #1095: the board's address, learnt from its own DHCP exchange. The board is BusyBox udhcpc in a
    lab namespace, switched by labgrid's ExternalPowerDriver; its script sets the address it took."""
    lab = make_lab([], extra=1)
    ns = lab.extra_netns[0]
    script = tmp_path / "board.sh"
    script.write_text('#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/24" dev "$interface"\nexit 0\n')
    script.chmod(0o755)
    board_on = f"ip netns exec {ns} busybox udhcpc -i eth0 -f -q -n -T 1 -t 20 -s {script}"
    board_off = f"ip netns exec {ns} ip addr flush dev eth0"
    board_mac = re.search(r"link/ether (\S+)", subprocess.run(["ip", "-n", ns, "-o", "link", "show", "eth0"],
                                                             capture_output=True, text=True).stdout).group(1)
    (tmp_path / "env.yaml").write_text(ENV.format(iface=lab.iface).replace("      ScapyDhcpDriver: {}\n", f"""\
      ScapyDhcpDriver: {{}}
      ExternalPowerDriver: {{cmd_on: "{board_on}", cmd_off: "{board_off}", delay: 0.1}}
      DhcpAddressStrategy: {{timeout: 30.0, device_mac: "{board_mac}"}}
"""))
    out = run_pytest(tmp_path, "--lg-env", "env.yaml", "-s", tests=f"""
        import subprocess

        def test_board_address(target):
            strategy = target.get_driver("DhcpAddressStrategy")
            strategy.transition("addressed")
            print("ADDRESS", strategy.address, strategy.lease.mac)
            board = subprocess.run(["ip", "-n", "{ns}", "-o", "addr", "show", "eth0"], capture_output=True, text=True)
            print("BOARD", board.stdout.replace("\\n", " "))
            strategy.transition("off")
            assert strategy.address is None and strategy.server is None
    """)
    assert out.returncode == 0, out.stdout + out.stderr
    address, mac = re.search(r"ADDRESS (\S+) (\S+)", out.stdout).groups()
    board = re.search(r"BOARD (.*)", out.stdout).group(1)
    assert f"inet {address}/24" in board   # the board's own view: its script set what it took
    link = subprocess.run(["ip", "-n", ns, "-o", "link", "show", "eth0"], capture_output=True, text=True).stdout
    assert mac in link and mac == board_mac and address != "10.77.0.250"   # the lease is the board's own MAC


REMOTE_ENV = """\
targets:
  main:
    resources:
      RemotePlace:
        name: {place}
    drivers:
      RawNetworkInterfaceDriver: {{}}
      ScapyDhcpDriver: {{}}
imports:
  - scapy_dhcp_ext.labgrid
"""


def _leftovers(place_dir) -> list[str]:
    """Processes of the remote path still running: labgrid's agent copies, tap forwarders, the raw helper."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    marks = (str(place_dir), "labgrid-tap-fwd", "labgrid-raw-interface")
    return [line for line in out.splitlines() if any(m in line for m in marks)]


def run_through_remote_place(lab, tmp_path, *args: str, tests: str):
    """labgrid's coordinator, an exporter exporting the lab link, a place acquired with labgrid-client,
    and one pytest run (``--lg-env`` naming the place) in a folder of its own. Everything the place
    started is stopped before this returns, and the test checks that it is."""
    import time

    from tests.support.remote_place import RemotePlace

    place_dir, run_dir = tmp_path / "place", tmp_path / "run"
    place_dir.mkdir()
    run_dir.mkdir()
    place = RemotePlace(place_dir, lab.iface, f"scapy-dhcp-{lab.id}")
    try:
        place.start()
        assert f"{place.name}/lab/RemoteNetworkInterface" in place.client("show")   # acquired, ours
        (run_dir / "env.yaml").write_text(REMOTE_ENV.format(place=place.name))
        out = run_pytest(run_dir, "-s", "--lg-env", "env.yaml", *args, tests=tests, env=place.env())
        assert out.returncode == 0, out.stdout + out.stderr + place.log("exporter")
    finally:
        started = list(place.procs)
        place.stop()
    # Everything stopped: sshd, coordinator, exporter, what ran over ssh, the macvtap (its namespace went).
    deadline = time.monotonic() + 10
    while _leftovers(place_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _leftovers(place_dir)
    assert len(started) == 3 and all(p.poll() is not None for p in started)
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert "macvtap" not in links
    return out


def test_the_same_run_goes_through_a_remote_place_of_a_real_coordinator_and_exporter(make_lab, tmp_path):
    """labgrid's RawNetworkInterfaceDriver.setup_netns() brings the exported link here over ssh: the
    conformance items and a user's own test run through it, in one pytest run, against Kea."""
    lab = make_lab("kea")
    xml = tmp_path / "r.xml"
    out = run_through_remote_place(lab, tmp_path, "--dhcp-conformance", "server", "--dhcp-destructive",
                                   f"--junitxml={xml}", tests="""
        def test_board_gets_lease(dhcp):
            lease = dhcp.dora().lease
            print("LEASE", lease.address, dhcp.mac, dhcp.iface)
            assert lease.lease_time >= 600
    """)
    got = cases(xml)
    assert list(got) == ["test_board_gets_lease"] + [c.id for c in SERVER_CHECKS]
    KEA = DEVIATIONS.get(("kea", server_version("kea")), {"bootreply-ignored": "warn"})
    for check in SERVER_CHECKS:
        verdict = props(got[check.id])["verdict"]
        if check.id == "release-wrong-chaddr-ignored":   # the macvtap passes unicast to its own MAC only
            assert verdict == "n/a" and "macvtap" in got[check.id].find("skipped").get("message", "")
        else:   # Kea's deviations, as on a local link (docs/verdicts.md's table)
            assert verdict == KEA.get(check.id, "pass"), (check.id, verdict)
    address, mac, iface = re.search(r"LEASE (\S+) (\S+) (\S+)", out.stdout).groups()
    assert iface == "tap0"   # labgrid's tap in the namespace setup_netns() made
    assert mac != Path(f"/sys/class/net/{lab.iface}/address").read_text().strip()   # not the lab link's own
    lease = lab.servers[0].lease_for(mac)   # Kea's own lease database: the macvtap's MAC holds the address
    assert lease is not None and lease.address == address
    # The checks' clients shared that MAC, told apart by option 61: Kea's log names their client-ids.
    assert "DHCP4_LEASE_ALLOC" in lab.servers[0].log and "cid=[01:" in lab.servers[0].log


def test_the_client_role_goes_through_a_remote_place(make_lab, tmp_path):
    """A board that is a DHCP client (BusyBox udhcpc), wired to the exporter: check_client() serves it
    through the remote place, and the client's own events say it took what was served."""
    lab = make_lab([], clients=["udhcpc"])
    out = run_through_remote_place(lab, tmp_path, tests="""
        import json

        def test_board_as_client(target):
            dhcp = target.get_driver("ScapyDhcpDriver")
            target.activate(dhcp)
            report = dhcp.check_client(only=["request-selecting-has-server-id-and-address",
                                             "xid-stable-in-transaction"])
            print("REPORT", report.target, json.dumps(report.verdicts()))
    """)
    target, verdicts = re.search(r"REPORT (\S+) (.*)", out.stdout).groups()
    assert json.loads(verdicts) == {"request-selecting-has-server-id-and-address": "pass",
                                    "xid-stable-in-transaction": "pass"}
    board = lab.clients[0]
    assert target == board.mac
    bound = board.wait_event("bound", timeout=1)   # udhcpc's own report: bound to what we served
    assert bound["serverid"] == "10.77.0.1" and bound["ip"].startswith("10.77.0.")


def test_the_v6_steps_serve_a_client_and_check_a_server_through_the_driver(make_lab, tmp_path):
    lab = make_lab("kea6")
    (tmp_path / "env.yaml").write_text(ENV.format(iface=lab.iface))
    out = run_pytest(tmp_path, "--lg-env", "env.yaml", "-s", tests="""
        def test_the_v6_steps(target):
            dhcp = target.get_driver("ScapyDhcpDriver")
            target.activate(dhcp)
            report = dhcp.check_server6(only=["advertise-server-id", "relay-forw-answered"])
            assert report.verdicts() == {"advertise-server-id": "pass", "relay-forw-answered": "pass"}
            print("SERVER6", report.target)
    """)
    assert out.returncode == 0, out.stdout + out.stderr
    mac = re.search(r"SERVER6 LL ([0-9a-f:]{17})", out.stdout).group(1)
    # the server the steps judged is Kea6, by the server-id its own log says it uses, and it ADVERTISEd to them
    log = lab.servers[0].log
    assert re.search(rf"DHCP6_USING_SERVERID server is using server-id 00:03:00:01:{mac}", log)
    assert "DHCP6_LEASE_ADVERT" in log
