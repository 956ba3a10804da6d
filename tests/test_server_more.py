"""The server checks of part three (workloads/server_checks4_more.py) without a network:
each passes against a scripted server that keeps the rule, and fails (warns, for a
SHOULD) against the same server with one quirk; each survives-* check fails against a
server that goes silent after the one odd request it names."""

from __future__ import annotations

import pytest

from scapy_dhcp_ext.workloads import server_checks4_more, server_checks4_options
from scapy_dhcp_ext.workloads.server_checks4_more import LONG_NAME
from tests.support.rfc_server import RfcServer
from tests.test_server_fields import judged

IDS = [c.id for c in server_checks4_more.CHECKS + server_checks4_options.CHECKS + server_checks4_more.ROBUST]
OPTIONAL = {"override-honoured", "108-when-asked", "leasequery-active"}   # what a server may do, done right

QUIRK = {
    "client-id-echoed": "no-61-echo",
    "client-id-echoed-in-nak": "no-61-echo",
    "client-id-identifies-client": "key-by-chaddr",
    "relay-suboptions-echoed": "82-truncated",
    "relay-server-id-override": "override-wrong",
    "retransmitted-request-same-answer": "nak-retransmission",
    "same-address-after-release": "forget-on-release",
    "init-reboot-unknown-client-silent": "nak-strangers",
    "bootp-request-answered-as-bootp": "bootp-with-53",
    "param-request-list-order": "prl-sorted",
    "opt108-only-when-asked": "108-always",
    "opt108-well-formed": "108-short",
    "leasequery-answered": "leasequery-unknown",
    "requested-option-once": "option-twice",
    "unknown-requested-option-omitted": "makes-up-unknown",
}

# survives-NAME: what the odd request of that check looks like to the server that dies of it
ODD = {
    "client-id-0": lambda f: f.options.get(61) == b"",
    "client-id-254": lambda f: len(f.options.get(61, b"")) == 254,
    "hostname-0": lambda f: f.options.get(12) == b"",
    "hostname-300": lambda f: len(f.options.get(12, b"")) == 300,
    "fqdn-0": lambda f: f.options.get(81) == b"",
    "fqdn-300": lambda f: f.options.get(81, b"").endswith(LONG_NAME),
    "opt92-255": lambda f: b"\x5c\xff" in f.raw[282:] and 92 not in f.options,
    "opt57-200": lambda f: f.options.get(57) == b"\x00\xc8",
    "opt57-65535": lambda f: f.options.get(57) == b"\xff\xff",
    "hops-17": lambda f: f.raw[45] == 17,
}


def test_every_check_passes_against_a_server_that_keeps_its_rule():
    got = judged(RfcServer(quirks=OPTIONAL), *IDS)
    assert len(got) == len(IDS) >= 23 and {k: v for k, v in got.items() if v[0] != "pass"} == {}
    plain = judged(RfcServer(), "relay-server-id-override", "opt108-well-formed", "leasequery-answered")
    assert {k: v[0] for k, v in plain.items()} == dict.fromkeys(plain, "n/a")   # not implemented: not judged


@pytest.mark.parametrize("check_id", list(QUIRK))
def test_a_check_fails_against_the_quirk_that_breaks_its_rule(check_id):
    level = next(c.level for c in server_checks4_more.CHECKS + server_checks4_options.CHECKS if c.id == check_id)
    verdict, why = judged(RfcServer(quirks={QUIRK[check_id]}), check_id)[check_id]
    assert verdict == ("fail" if level == "MUST" else "warn"), (verdict, why)


@pytest.mark.parametrize("name", list(ODD))
def test_a_server_that_dies_of_the_odd_request_fails_that_survives_check(name):
    check_id = f"survives-{name}"
    assert judged(RfcServer(), check_id)[check_id][0] == "pass"
    dies = RfcServer(dies_on=ODD[name])
    verdict, why = judged(dies, check_id)[check_id]
    assert dies.dead and verdict == "fail" and "no OFFER to a new client" in why, (verdict, why)
    # Another odd request does not kill it: each check's request is the one it names.
    other = next(n for n in ODD if n != name)
    assert judged(RfcServer(dies_on=ODD[name]), f"survives-{other}")[f"survives-{other}"][0] == "pass"


def test_the_catalog_holds_80_server_checks_with_the_robust_ones_before_the_destructive():
    from scapy_dhcp_ext.workloads.server_checks4 import SERVER_CHECKS

    ids = [c.id for c in SERVER_CHECKS]
    assert len(ids) >= 80 and len(set(ids)) == len(ids)
    assert ids.index("survives-hops-17") < ids.index("release-frees-address") and ids[-1] == "survives-malformed"


@pytest.mark.parametrize("last", [0x00, 0x01, 0xff])
def test_the_two_identifiers_of_one_node_differ_whatever_the_mac(monkeypatch, last):
    # A random MAC ending in 00 once made both identifiers equal, and Kea rightly gave them one address.
    monkeypatch.setattr(server_checks4_more, "random_mac", lambda: "ba:62:b0:b8:50:" + f"{last:02x}")
    got = judged(RfcServer(), "client-id-identifies-client")["client-id-identifies-client"]
    assert got[0] == "pass", got
