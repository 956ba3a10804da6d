"""The pytest plugin, run as a user runs it: ``python -m pytest`` in a folder of
their own (the plugin comes from the installed package's ``pytest11`` entry
point), its JUnit XML read back with ElementTree."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from scapy_dhcp_ext.workloads.client_checks4 import CLIENT_CHECKS
from scapy_dhcp_ext.workloads.server_checks4 import SERVER_CHECKS


def run_pytest(folder, *args: str, tests: str | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """pytest as a user runs it, in ``folder`` (with ``tests`` as its test_board.py)."""
    if tests is not None:
        (folder / "test_board.py").write_text(textwrap.dedent(tests))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                          cwd=folder, capture_output=True, text=True, timeout=600, env=env)


def cases(xml_path) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in ET.parse(xml_path).getroot().iter("testcase")}


def props(case: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def test_the_plugin_is_registered_and_without_a_device_every_check_is_skipped_with_what_to_give(tmp_path):
    out = run_pytest(tmp_path, "--help")
    assert "--dhcp-iface" in out.stdout and "--dhcp-conformance" in out.stdout and "--dhcp-lab" in out.stdout
    xml = tmp_path / "r.xml"
    out = run_pytest(tmp_path, "--dhcp-conformance", "server", f"--junitxml={xml}", "-rs")
    assert out.returncode == 0, out.stdout + out.stderr
    got = cases(xml)
    assert list(got) == [c.id for c in SERVER_CHECKS]
    assert all(c.find("skipped") is not None for c in got.values())
    assert "give --dhcp-iface IF or --dhcp-lab KIND" in out.stdout


@pytest.mark.lab
def test_kea_conformance_gives_one_junit_case_per_check_with_its_properties(tmp_path):
    xml = tmp_path / "r.xml"
    out = run_pytest(tmp_path, "--dhcp-lab", "kea", "--dhcp-conformance", "server", f"--junitxml={xml}")
    assert out.returncode == 0, out.stdout + out.stderr   # Kea only warns (bootreply-ignored)
    got = cases(xml)
    assert list(got) == [c.id for c in SERVER_CHECKS]
    for check in SERVER_CHECKS:
        p = props(got[check.id])
        assert (p["rfc"], p["level"]) == (check.rfc, check.level), p
        if check.destructive:
            assert p["verdict"] == "n/a" and got[check.id].find("skipped") is not None
        else:
            # n/a: what Kea does not implement (RFC 5107, leasequery) or the lab does not configure (option 108)
            assert p["verdict"] in ("pass", "warn", "n/a") and got[check.id].find("failure") is None, p
    assert props(got["bootreply-ignored"])["verdict"] == "warn" and "DhcpCheckWarning" in out.stdout


@pytest.mark.lab
def test_a_failing_check_fails_with_its_frames_in_a_pcapng_named_in_the_message(tmp_path):
    xml = tmp_path / "reports" / "r.xml"
    xml.parent.mkdir()
    out = run_pytest(tmp_path, "--dhcp-lab", "dnsmasq", "--dhcp-conformance", "server", f"--junitxml={xml}",
                     "-k", "inform or selecting or xid")
    assert out.returncode == 1, out.stdout + out.stderr
    got = cases(xml)
    assert sorted(got) == ["inform-ack-no-lease-time", "nak-xid-echoed", "selecting-other-server-silent", "xid-echoed"]
    assert got["xid-echoed"].find("failure") is None and props(got["xid-echoed"])["verdict"] == "pass"
    for name in ("inform-ack-no-lease-time", "selecting-other-server-silent"):
        failure = got[name].find("failure")
        pcap = xml.parent / f"{name}.pcapng"
        assert failure is not None and str(pcap) in failure.get("message", "") + (failure.text or "")
        frames = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "frame.comment"],
                                capture_output=True, text=True, check=True).stdout.splitlines()
        assert frames and all(f.startswith(f"{name} (RFC ") for f in frames), frames


@pytest.mark.lab
def test_a_users_own_tests_get_a_session_the_lab_and_the_rfc_marker(tmp_path):
    xml = tmp_path / "r.xml"
    out = run_pytest(tmp_path, "--dhcp-lab", "dnsmasq", f"--junitxml={xml}", tests="""
        import pytest

        def test_board_gets_lease(dhcp, dhcp_lab):
            lease = dhcp.dora().lease
            assert lease.lease_time >= 600
            assert dhcp_lab.servers[0].lease_for(dhcp.mac).address == lease.address   # dnsmasq's own database

        @pytest.mark.rfc("2131 4.3.2")
        def test_board_naks_an_address_on_another_network(dhcp):
            dhcp.dora()
            assert dhcp.request("192.0.2.7").nak
    """)
    assert out.returncode == 0, out.stdout + out.stderr
    got = cases(xml)
    assert props(got["test_board_naks_an_address_on_another_network"]) == {"rfc": "2131 4.3.2"}


@pytest.mark.lab
@pytest.mark.parametrize("kind", ["udhcpc", "dhcpcd"])
def test_in_a_client_lab_dhcp_server_answers_the_client_and_its_events_agree(tmp_path, kind):
    out = run_pytest(tmp_path, "--dhcp-lab", kind, tests="""
        def test_the_board_takes_our_lease(dhcp_server, dhcp_client_events):
            lease = dhcp_server.wait_lease(timeout=30)
            bound = dhcp_client_events.wait_event("bound", timeout=30)
            assert bound["ip"] == lease.address and bound["serverid"] == dhcp_server.pool.server_ip
    """)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout


@pytest.mark.lab
def test_client_conformance_items_in_a_udhcpc_lab(tmp_path):
    xml = tmp_path / "r.xml"
    out = run_pytest(tmp_path, "--dhcp-lab", "udhcpc", "--dhcp-conformance", "client", f"--junitxml={xml}",
                     "--dhcp-slow", "-k", "request-selecting or xid-stable or param-request-list or request-unanswered")
    assert out.returncode == 0, out.stdout + out.stderr
    got = cases(xml)
    assert sorted(got) == sorted(c.id for c in CLIENT_CHECKS if c.id in (
        "request-selecting-has-server-id-and-address", "xid-stable-in-transaction", "param-request-list-stable",
        "request-unanswered-back-to-init"))   # slow: run with --dhcp-slow (n/a without)
    assert all(props(c)["verdict"] == "pass" for c in got.values())


@pytest.mark.lab
def test_v6_conformance_items_for_kea6_and_for_dhcp6cs_failing_checks(tmp_path):
    from scapy_dhcp_ext.workloads.client_checks6 import CLIENT_CHECKS6
    from scapy_dhcp_ext.workloads.server_checks6 import SERVER_CHECKS6

    xml = tmp_path / "s6.xml"
    out = run_pytest(tmp_path, "--dhcp-lab", "kea6", "--dhcp-conformance", "server6", f"--junitxml={xml}")
    assert out.returncode == 0, out.stdout + out.stderr   # Kea6 only warns (timers-within-preferred)
    got = cases(xml)
    assert list(got) == [c.id for c in SERVER_CHECKS6]
    assert props(got["timers-within-preferred"])["verdict"] == "warn" and "DhcpCheckWarning" in out.stdout
    assert props(got["release-answered"])["verdict"] == "n/a"   # destructive, not asked for
    xml = tmp_path / "c6.xml"
    out = run_pytest(tmp_path, "--dhcp-lab", "dhcp6c", "--dhcp-conformance", "client6", f"--junitxml={xml}",
                     "-k", "solicit-oro-sol-max-rt or request-server-id", f"--dhcp-evidence={tmp_path}")
    assert out.returncode == 1, out.stdout + out.stderr   # dhcp6c asks for no SOL_MAX_RT
    got = cases(xml)
    assert sorted(got) == sorted(c.id for c in CLIENT_CHECKS6 if c.id in ("solicit-oro-sol-max-rt",
                                                                           "request-server-id"))
    assert got["solicit-oro-sol-max-rt"].find("failure") is not None
    assert props(got["request-server-id"])["verdict"] == "pass"
    assert "SOLICIT" in out.stdout and (tmp_path / "solicit-oro-sol-max-rt.pcapng").exists()
