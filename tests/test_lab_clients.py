"""Real DHCP clients in the lab (BusyBox udhcpc, dhcpcd) against a real server:
what the client itself reports, checked against the server's lease database."""

from __future__ import annotations

import subprocess
import time

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
        # and the client's interface has it: udhcpc's script reports the lease, then adds the address
        # (on a busy machine the report can come first by a while), dhcpcd runs its hook once it has
        want, deadline = f"inet {bound['ip']}/24", time.monotonic() + 15
        while want not in (addresses := subprocess.run(
                ["ip", "netns", "exec", client.netns, "ip", "-o", "-4", "addr", "show", "eth0"],
                capture_output=True, text=True).stdout) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert want in addresses, addresses

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


def test_the_suite_counts_its_own_leftover_labs_and_not_another_workers():
    import os
    import sys
    import tempfile
    from pathlib import Path

    from scapy_dhcp_ext.lab import cleanup_stale, remove_lab
    from tests.support.labs import left_behind, ours

    before = ours()
    mine = Lab([]).start()   # a link only, left running: this process's leftover
    code = ("import os; from scapy_dhcp_ext.lab import Lab; lab = Lab([]).start(); print(lab.id, flush=True);"
            "os.kill(os.getpid(), 9)")   # a child killed before it could remove its lab
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
    other = None
    try:
        left = left_behind(before)
        assert f"{PREFIX}{mine.id}" in left and f"{PREFIX}{child}" in left
        # The killed child as if another worker had started it: not in this process's lineage.
        for lineage in Path(tempfile.gettempdir()).glob(f"scapy-dhcp-lab-{child}-*/lineage"):
            lineage.write_text(" ".join(p for p in lineage.read_text().split() if p != str(os.getpid())))
        assert f"{PREFIX}{child}" not in left_behind(before)
        # A running lab whose maker is not this process (as another worker's): not counted.
        other = subprocess.Popen([sys.executable, "-c", "import time; from scapy_dhcp_ext.lab import Lab;"
                                  "lab = Lab([]).start(); print(lab.id, flush=True); time.sleep(30)"],
                                 stdout=subprocess.PIPE, text=True)
        running = other.stdout.readline().strip()
        assert running and f"{PREFIX}{running}" in ours() - before
        assert f"{PREFIX}{running}" not in left_behind(before)
    finally:
        mine.stop()
        if other is not None:
            other.kill()
            other.wait()
        remove_lab(child)
        cleanup_stale()
    assert not left_behind(before)
