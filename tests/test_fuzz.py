"""Property tests: untrusted bytes and bad state files never raise, and parse in bounded time."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.roles.results4 import Lease
from scapy_dhcp_ext.state.store import Store
from scapy_dhcp_ext.wire.frames4 import parse_frame
from tests.support import REPO, module_argv
from tests.support.fuzzing import SEEDS, mutate

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_everything(raw: bytes) -> None:
    frame = parse_frame(raw)
    frame.summary()
    for name in ("server_id", "lease_time", "t1", "t2", "subnet_mask", "routers", "dns_servers", "domain",
                 "message", "type_name"):
        getattr(frame, name)
    if frame.is_dhcp:
        Lease.from_ack(frame)
    assert len(frame.problems) < 100


@FAST
@given(st.binary(max_size=1600))
def test_any_bytes_parse_without_raising(raw):
    read_everything(raw)


@FAST
@given(st.integers(0, len(SEEDS) - 1), st.randoms(use_true_random=False))
def test_mutated_replies_parse_without_raising(seed, rnd):
    raw = mutate(SEEDS[seed], random.Random(rnd.random()))
    read_everything(raw)
    parse_frame(raw).packet.summary()  # Scapy's dissection, behind our guard


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children,
                                                                                            max_size=4),
                           max_leaves=20)


@FAST
@given(st.binary(max_size=400))
def test_any_state_file_bytes_load_without_raising(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("s") / "state.json"
    path.write_bytes(raw)
    store = Store(path)
    data = store.load()
    assert isinstance(data, dict) and (data == {} or "version" in data)


@FAST
@given(st.dictionaries(st.sampled_from(["version", "iface", "mac", "state", "xid", "lease", "offers", "sweep"]),
                       json_values))
def test_any_state_content_restores_without_raising(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("s") / "state.json"
    path.write_text(json.dumps({**content, "version": 1}))
    session = DhcpSession(state_file=str(path))
    repr(session)
    assert session.state in ("INIT", "SELECTING", "REQUESTING", "BOUND", "RENEWING", "REBINDING", "INIT-REBOOT",
                             "REBOOTING")


def test_the_fuzz_command_runs_clean():
    import subprocess

    out = subprocess.run(module_argv("fuzz", "3000"), cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "crashes              0" in out.stdout and "3000 passed, 0 failed" in out.stdout
