"""The server's lease file (one line per change) and what a restarted server takes back from it;
replies never go to a dangerous destination."""

from __future__ import annotations

import csv
import ipaddress
import time

import pytest

from scapy_dhcp_ext.roles.lease_keeper import LeaseKeeper
from scapy_dhcp_ext.roles.leases4 import Ask, LeaseTable, Pool
from scapy_dhcp_ext.state import leasefile as leasefile_module
from scapy_dhcp_ext.state.history import History
from scapy_dhcp_ext.state.leasefile import HEADER, LeaseFile, lease_file_path
from scapy_dhcp_ext.wire.replies4 import unsafe_destination

A, B, C = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rows(path, lease_file: LeaseFile | None = None) -> list[list[str]]:
    """The file as csv reads it (not our parser), once what was queued is written."""
    if lease_file is not None:
        lease_file.flush()
    with open(path, newline="") as fh:
        return [r for r in csv.reader(line for line in fh if not line.startswith("#"))]


def keeper(tmp_path, clock: Clock, spec: str = "10.0.0.100-10.0.0.109") -> tuple[LeaseKeeper, LeaseTable]:
    table = LeaseTable(Pool.parse(spec), lease_time=600, clock=clock)
    k = LeaseKeeper(table, LeaseFile(tmp_path / "leases4-eth9.csv"), History(None), "eth9")
    k.restore()
    return k, table


def dora(table: LeaseTable, mac: str, **ask) -> str:
    offer = table.discover(Ask(mac, **ask))
    assert table.request(Ask(mac, server_id="10.0.0.1", requested=offer.address, **ask)).kind == "ACK"
    return offer.address


def test_the_file_sits_beside_the_state_file_one_per_interface(tmp_path):
    assert lease_file_path(tmp_path / "state.json", "eth1") == tmp_path / "leases4-eth1.csv"
    assert lease_file_path(tmp_path / "state.json", "we/ird:1").name == "leases4-we_ird_1.csv"


def test_one_line_per_binding_change_and_none_for_an_offer(tmp_path):
    clock = Clock(1_000_000.0)
    k, table = keeper(tmp_path, clock)
    path = k.file.path
    table.discover(Ask(A))
    assert rows(path, k.file) == []                      # an offer is not written
    address = dora(table, A, hostname="board, 1")
    table.decline(Ask(B, requested=dora(table, B)))
    table.release(Ask(A, ciaddr=address))
    got = rows(path, k.file)
    assert [(r[1], r[2], r[3]) for r in got] == [("bound", address, A), ("bound", "10.0.0.101", B),
                                                  ("declined", "10.0.0.101", B), ("released", address, A)]
    assert got[0][6] == "board, 1" and float(got[0][4]) == clock.now + 600
    assert path.read_text().startswith(HEADER)


def test_a_restarted_table_keeps_bindings_declines_and_ends_and_forgets_offers(tmp_path):
    clock = Clock(1_000_000.0)
    k, table = keeper(tmp_path, clock)
    a = dora(table, A)
    b = dora(table, B, client_id="01020304")
    table.decline(Ask(C, requested=dora(table, C)))
    table.discover(Ask("02:00:00:00:00:0d"))            # only offered
    k.close()
    clock.now += 10
    k2, again = keeper(tmp_path, clock)
    states = {x.address: (x.state, x.mac) for x in again}
    assert states == {a: ("bound", A), b: ("bound", B), "10.0.0.102": ("declined", C)}
    # The bound client renews its own address; another asking for it is refused (RFC 2131 4.3.2).
    assert again.request(Ask(A, ciaddr=a, unicast=True)).kind == "ACK"
    assert again.request(Ask(C, requested=a)).kind == "NAK"
    assert again.discover(Ask(C, requested=a)).address not in (a, b, "10.0.0.102")
    assert again.mine(Ask(B, client_id="01020304")).address == b   # by its client id
    # Past its end a binding is expired, and its address free again.
    clock.now += 700
    k2.close()
    _, later = keeper(tmp_path, clock)
    assert {x.address: x.state for x in later}[a] == "expired"


def test_unreadable_lines_are_skipped_counted_and_never_evaluated(tmp_path):
    path = tmp_path / "leases4-eth9.csv"
    path.write_text(HEADER + "1.0,bound,10.0.0.100,02:00:00:00:00:0a,9999999999.0,,\n"
                    "__import__('os').system('touch pwned'),bound,10.0.0.101,02:00:00:00:00:0b,1,,\n"
                    "1.0,bound,10.0.0.999,02:00:00:00:00:0b,9999999999.0,,\n"
                    "1.0,bound,10.0.0.102,02:00:00:00:0")   # torn by a crash
    lf = LeaseFile(path)
    assert [r["address"] for r in lf.load()] == ["10.0.0.100"] and lf.skipped == 3
    assert not (tmp_path / "pwned").exists()


def test_outside_the_pool_is_left_out_and_the_file_is_rewritten_bounded(tmp_path):
    clock = Clock(1_000_000.0)
    k, table = keeper(tmp_path, clock, "10.0.0.100-10.0.0.109")
    dora(table, A)
    k.close()
    k2, other = keeper(tmp_path, clock, "10.0.0.200-10.0.0.209")
    assert list(other) == []
    assert "left out (10.0.0.100)" in k2.history.entries[-1].note
    # Renewals of one binding: the file is rewritten once it holds far more lines than leases.
    address = dora(other, B)
    for _ in range(5000):
        other.request(Ask(B, ciaddr=address, unicast=True))
    assert k2.file.lines < 4200 and len(rows(k2.file.path, k2.file)) == k2.file.lines


def written(path) -> list[str]:
    """The file's lines as the disk has them now (no flush)."""
    try:
        with open(path) as fh:
            return [line for line in fh if not line.startswith("#")]
    except FileNotFoundError:
        return []


def test_a_lone_change_is_written_at_once_and_a_stream_once_per_hold(tmp_path, monkeypatch):
    """A change that comes alone reaches the file without a flush; under a stream the writer holds
    (here 30 s) and writes what came meanwhile in one write(2); flush() and close() cut the hold short."""
    monkeypatch.setattr(leasefile_module, "HOLD", 30.0)
    lf = LeaseFile(tmp_path / "leases4-eth9.csv")
    writes: list[bytes] = []
    write = lf._write
    monkeypatch.setattr(lf, "_write", lambda data: (writes.append(data), write(data)))
    lf.append("bound", "10.0.0.100", A, 2e9, A, "")
    deadline = time.monotonic() + 10
    while not written(lf.path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(written(lf.path)) == 1, "a lone change waited for a flush"
    for i in range(200):   # a stream: a change a millisecond or so, for a fifth of a second or more
        lf.append("bound", f"10.0.1.{i}", B, 2e9, B, "")
        time.sleep(0.001)
    streamed = len(writes)
    start = time.monotonic()
    lf.flush()
    assert time.monotonic() - start < 10, "flush() waited out the writer's hold"
    assert len(written(lf.path)) == 201
    assert streamed <= 4, f"{streamed} writes for 201 lines: the stream was not gathered"
    lf.append("released", "10.0.0.100", A, 2e9, A, "")
    lf.close()   # a writer in its hold writes the last line before it stops
    assert written(lf.path)[-1].split(",")[1:3] == ["released", "10.0.0.100"]


@pytest.mark.parametrize("address, why", [
    ("255.255.255.255", "the limited broadcast address"), ("10.0.0.255", "the broadcast address of 10.0.0.0/24"),
    ("224.0.0.1", "a multicast address"), ("127.0.0.1", "a loopback address"),
    ("0.1.2.3", "in the zero network 0.0.0.0/8"), ("10.0.0.1", "the server's own address"),
    ("240.0.0.7", "a reserved address (240.0.0.0/4)"), ("10.0.0.250", None), ("192.0.2.9", None)])
def test_dangerous_destinations_are_named(address, why):
    assert unsafe_destination(address, server_ip="10.0.0.1", network=ipaddress.IPv4Network("10.0.0.0/24")) == why


def test_the_capture_ring_rotates_and_each_generation_reads_in_scapy(tmp_path):
    from scapy.layers.l2 import Ether
    from scapy.utils import PcapNgReader

    from scapy_dhcp_ext.state.capture import PcapngRing

    ring = PcapngRing(tmp_path / "serve.pcapng", limit=4000)
    frames = [bytes(Ether(src="02:00:00:00:00:01") / (b"x" * (60 + i))) for i in range(100)]
    for i, raw in enumerate(frames):
        ring.write(1_800_000_000 + i / 10, raw, f"in frame {i}")
    ring.close()
    with PcapNgReader(str(tmp_path / "serve.pcapng.1")) as old, PcapNgReader(str(tmp_path / "serve.pcapng")) as new:
        older, newer = list(old), list(new)
    got = older + newer
    assert (tmp_path / "serve.pcapng").stat().st_size < 4000 + 300 and len(got) < 100   # the oldest went
    assert [bytes(p) for p in got] == frames[-len(got):]
    assert got[-1].comment == b"in frame 99" and float(got[-1].time) == pytest.approx(1_800_000_009.9)
