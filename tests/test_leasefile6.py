"""serve6()'s lease file: one line per binding change (IA_NA addresses and IA_PD
prefixes), read back by a restarted server; offers are never written."""

from __future__ import annotations

import csv

from scapy_dhcp_ext.roles.lease_keeper import LeaseKeeper6
from scapy_dhcp_ext.roles.leases6 import Bindings6, Pools6
from scapy_dhcp_ext.state.history import History
from scapy_dhcp_ext.state.leasefile import HEADER6, V6, LeaseFile, lease_file_path

DUID_A, DUID_B = "00030001020000000a0a", "00030001020000000b0b"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rows(keeper: LeaseKeeper6) -> list[list[str]]:
    """The file as csv reads it (not our parser), once what was queued is written."""
    keeper.file.flush()
    with open(keeper.file.path, newline="") as fh:
        return [r for r in csv.reader(line for line in fh if not line.startswith("#"))]


def keeper(tmp_path, clock: Clock, spec: str = "fd77::100-fd77::103", take: bool = True) -> LeaseKeeper6:
    table = Bindings6(Pools6.parse(spec, pd="fd77:2::/48", pd_length=56), valid=600, clock=clock)
    k = LeaseKeeper6(table, LeaseFile(lease_file_path(tmp_path / "state.json", "eth9", "6"), fmt=V6),
                     History(None), "eth9")
    k.restore(take=take)
    return k


def test_the_v6_file_sits_beside_the_state_file_apart_from_the_v4_one(tmp_path):
    assert lease_file_path(tmp_path / "state.json", "eth1", "6") == tmp_path / "leases6-eth1.csv"
    assert lease_file_path(tmp_path / "state.json", "eth1") == tmp_path / "leases4-eth1.csv"


def test_one_line_per_binding_change_and_none_for_an_advertise(tmp_path):
    clock = Clock(2_000_000.0)
    k = keeper(tmp_path, clock)
    t = k.table
    t.assign(DUID_A, 1, "NA", commit=False)
    assert rows(k) == []                                   # an ADVERTISE commits nothing
    na = t.assign(DUID_A, 1, "NA", commit=True, mac="02:00:00:00:00:0a")
    pd = t.assign(DUID_A, 7, "PD", commit=True)
    clock.now += 100
    t.extend(DUID_A, 1, "NA", na.address)                  # RENEW
    again = t.assign(DUID_A, 1, "NA", commit=False)        # a bound client SOLICITs again: still bound
    assert again is na and na.state == "bound"
    b = t.assign(DUID_B, 2, "NA", commit=True)
    t.decline(DUID_B, 2, b.address)
    t.release(DUID_A, 7, "PD", pd.address)
    got = rows(k)
    assert [(r[1], r[2], r[3], r[4], r[5], r[6]) for r in got] == [
        ("bound", "NA", "fd77::100", "128", DUID_A, "1"),
        ("bound", "PD", "fd77:2::", "56", DUID_A, "7"),
        ("bound", "NA", "fd77::100", "128", DUID_A, "1"),
        ("bound", "NA", "fd77::101", "128", DUID_B, "2"),
        ("declined", "NA", "fd77::101", "128", DUID_B, "2"),
        ("released", "PD", "fd77:2::", "56", DUID_A, "7")]
    assert float(got[0][7]) == 2_000_000.0 + 600 and float(got[2][7]) == 2_000_100.0 + 600
    assert got[0][8] == "02:00:00:00:00:0a" and got[4][7] == "inf"
    assert k.file.path.read_text().startswith(HEADER6)


def test_a_restarted_server_keeps_bindings_declines_and_ends_and_forgets_offers(tmp_path):
    clock = Clock(2_000_000.0)
    k = keeper(tmp_path, clock)
    t = k.table
    na = t.assign(DUID_A, 1, "NA", commit=True)
    pd = t.assign(DUID_A, 1, "PD", commit=True)
    t.decline(DUID_B, 2, t.assign(DUID_B, 2, "NA", commit=True).address)
    t.assign("00030001020000000c0c", 3, "NA", commit=False)   # only advertised
    k.file.flush()          # no close(): as after kill -9, what was written is what there is
    clock.now += 10
    k2 = keeper(tmp_path, clock)
    assert k2.history[-1].note.startswith(f"restored 3 bindings from {k2.file.path}")
    got = {(b.kind, b.address): (b.state, b.duid, b.iaid, b.expires) for b in k2.table}
    assert got == {("NA", na.address): ("bound", DUID_A, 1, 2_000_600.0),
                   ("PD", pd.address): ("bound", DUID_A, 1, 2_000_600.0),
                   ("NA", "fd77::101"): ("declined", DUID_B, 2, float("inf"))}
    # the client renews its address: the restarted server extends it; nobody else gets it
    assert k2.table.extend(DUID_A, 1, "NA", na.address)[1] == "extended"
    other = k2.table.assign("00030001020000000d0d", 4, "NA", commit=True, hint=na.address)
    assert other is not None and other.address not in (na.address, "fd77::101")
    # past its end a binding is expired, and its address free again
    clock.now += 10_000
    k3 = keeper(tmp_path, clock)
    assert {b.address: b.state for b in k3.table if b.kind == "PD"} == {pd.address: "expired"}


def test_torn_and_foreign_lines_are_skipped_and_restore_false_starts_empty(tmp_path):
    clock = Clock(2_000_000.0)
    k = keeper(tmp_path, clock)
    k.table.assign(DUID_A, 1, "NA", commit=True)
    k.close()
    with open(k.file.path, "a") as fh:
        fh.write("2000000.000,bound,NA,fd77::102,128,zz,1,2000600.000,\n")            # DUID not hex
        fh.write("2000000.000,bound,NA,fd99::5,128,00aa,1,2000600.000,\n")            # outside the pool
        fh.write("2000000.000,bound,NA,__import__('os'),128,00aa,1,2000600.000,\n")   # never eval'd
        fh.write("2000000.000,bound,NA,fd77::1")                                      # torn by a crash
    k2 = keeper(tmp_path, clock)
    assert [b.address for b in k2.table] == ["fd77::100"] and k2.file.skipped == 3
    k2.close()
    k3 = keeper(tmp_path, clock, take=False)
    assert list(k3.table) == [] and rows(k3) == []         # restore=False: nothing taken, the file says so
