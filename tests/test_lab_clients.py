"""Real DHCP clients in the lab (BusyBox udhcpc, dhcpcd) against a real server:
what the client itself reports, checked against the server's lease database."""

from __future__ import annotations

import subprocess

import pytest

from scapy_dhcp_ext.lab import PREFIX, Lab, list_namespaces

pytestmark = pytest.mark.lab  # root, namespaces and the real servers and clients


@pytest.mark.parametrize("kind", ["udhcpc", "dhcpcd"])
def test_a_client_reports_the_lease_the_server_gave_it(kind):
    with Lab("dnsmasq", clients=[kind]) as lab:
        client = lab.clients[0]
        bound = client.wait_event("bound")
        held = lab.servers[0].lease_for(client.mac)
        assert held is not None and held.address == bound["ip"]  # the server's own database agrees
        assert bound["serverid"] == "10.77.0.1" and bound["lease"] == "3600" and bound["router"] == "10.77.0.1"
        assert bound["subnet"] == "255.255.255.0" and bound["domain"] == "lab.test"
        addresses = subprocess.run(["ip", "netns", "exec", client.netns, "ip", "-o", "-4", "addr", "show", "eth0"],
                                   capture_output=True, text=True).stdout
        assert f"inet {bound['ip']}/24" in addresses  # and the client's interface has it

        seen = len(client.events())
        client.restart()  # a board that reboots asks again, and gets its address back
        again = client.wait_event("bound", "reboot", after=seen)
        assert again["ip"] == bound["ip"]
        netns, pid = client.netns, client.proc.pid
    assert not [n for n in list_namespaces() if n.startswith(f"{PREFIX}{lab.id}")]
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0, netns


def test_a_lab_folder_whose_owner_died_mid_cleanup_goes_with_the_next_lab(tmp_path):
    import tempfile
    from pathlib import Path

    from scapy_dhcp_ext.lab import cleanup_stale

    dead = subprocess.Popen(["true"])
    dead.wait()
    folder = Path(tempfile.mkdtemp(prefix="scapy-dhcp-lab-0dead0-"))   # its namespaces already gone
    (folder / "owner").write_text(str(dead.pid))
    cleanup_stale()
    assert not folder.exists()
