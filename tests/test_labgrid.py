"""The labgrid driver on the real engine: labgrid's own pytest plugin
(``--lg-env``) with an environment file whose NetworkInterface is a lab link,
run as a user runs it, in a folder of its own."""

from __future__ import annotations

import re
import subprocess

import pytest

from scapy_dhcp_ext.server_checks import SERVER_CHECKS
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
    (tmp_path / "env.yaml").write_text(ENV.format(iface=lab.iface).replace("      ScapyDhcpDriver: {}\n", f"""\
      ScapyDhcpDriver: {{}}
      ExternalPowerDriver: {{cmd_on: "{board_on}", cmd_off: "{board_off}", delay: 0.1}}
      DhcpAddressStrategy: {{timeout: 30.0}}
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
    assert mac in link and address != "10.77.0.250"   # the lease is the board's own MAC
