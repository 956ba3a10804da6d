"""Sweep cases and the sweep runner over a scripted device: no network."""

from __future__ import annotations

import random
import struct

import pytest

from scapy_dhcp_ext import DhcpSession
from scapy_dhcp_ext.link.transport import Transport
from scapy_dhcp_ext.wire import DISCOVER, OFFER
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import build_message
from scapy_dhcp_ext.workloads.cases4 import (
    header_cut_cases,
    length_cases,
    lie_cases,
    malformed_cases,
    malformed_specs,
    parse_ranges,
)
from tests.support.fakes import FakeSocket, reply_frame

MAC = "02:00:00:00:00:07"
BASE = build_message(DISCOVER, mac=MAC, xid=0)


def xids():
    rng = random.Random(1)
    return lambda: rng.getrandbits(32)


def test_length_cases_cut_and_grow_with_true_lengths():
    cases = length_cases(BASE, MAC, [0, 10, 243, 300, 1472], new_xid=xids())
    for case in cases:
        frame = case.frames[0]
        assert len(frame) == 42 + case.length
        assert struct.unpack("!H", frame[16:18])[0] == 28 + case.length       # IP length tells the truth
        assert struct.unpack("!H", frame[38:40])[0] == 8 + case.length        # so does UDP's
    grown = cases[4].frames[0][42:]
    assert parse_frame(cases[4].frames[0]).message_type == DISCOVER and not parse_frame(cases[4].frames[0]).problems
    assert grown[8:300] == BASE[42 + 8:42 + 300] and grown[300:] == b"\0" * (1472 - 300)  # PAD after END
    assert parse_frame(cases[2].frames[0]).problems == ["no END option"]      # cut right after option 53


def test_past_the_mtu_goes_as_fragments_that_reassemble():
    (case,) = length_cases(BASE, MAC, [3000], mtu=1500, new_xid=xids())
    assert case.kind == "fragmented" and len(case.frames) == 3 and all(len(f) <= 1514 for f in case.frames)
    data = b"".join(f[34:] for f in case.frames)
    assert len(data) == 8 + 3000
    offsets = [struct.unpack("!H", f[20:22])[0] for f in case.frames]
    assert offsets[0] == 0x2000 and offsets[-1] & 0x2000 == 0


def test_header_cuts_lies_and_malformed_have_stable_unique_names():
    cuts = header_cut_cases(BASE, MAC, new_xid=xids())
    assert [len(c.frames[0]) for c in cuts] == list(range(14, 42))
    lies = lie_cases(BASE, MAC, new_xid=xids())
    ip_plus1 = next(c for c in lies if c.name == "ip-len-plus1").frames[0]
    assert struct.unpack("!H", ip_plus1[16:18])[0] == len(ip_plus1) - 14 + 1
    names = [c.name for c in malformed_cases(MAC, new_xid=xids())]
    assert len(names) == len(set(names)) >= 50 and names == [s.name for s in malformed_specs()]
    for name, problem in (("no-end", "no END"), ("opt-len-past-end", "only 5 bytes remain"),
                          ("conflict-53", "conflicting"), ("hlen-0", "hlen 0"), ("cookie-zero", "magic cookie")):
        (case,) = malformed_cases(MAC, new_xid=xids(), names=[name])
        assert any(problem in p for p in parse_frame(case.frames[0]).problems), name


def test_parse_ranges():
    assert parse_ranges("0-3, 10,12-13") == [0, 1, 2, 3, 10, 12, 13]
    with pytest.raises(ValueError, match="0-300"):
        parse_ranges("a-b")


class Device:
    """Answers DISCOVERs whose BOOTP part is at least 243 bytes; dies on ``kill``."""

    def __init__(self, kill: int | None = None, interrupt_after: int | None = None):
        self.kill, self.dead, self.seen, self.interrupt_after = kill, False, 0, interrupt_after

    def __call__(self, frame):
        self.seen += 1
        if self.interrupt_after is not None and self.seen > self.interrupt_after:
            self.interrupt_after = None
            raise KeyboardInterrupt
        length = len(frame.raw) - 42
        if self.kill is not None and length == self.kill and frame.xid is not None:
            self.dead = True
        if self.dead or frame.message_type != DISCOVER:
            return []
        return [reply_frame(frame, OFFER)]


def session_with(device, tmp_path=None) -> DhcpSession:
    return DhcpSession(transport=Transport("fake0", sock=FakeSocket(device)), mac=MAC,
                       state_file=str(tmp_path / "state.json") if tmp_path else False)


def test_sweep_reports_answered_lengths_and_stays_quick():
    s = session_with(Device())
    report = s.sweep_lengths(range(230, 260), headers=False, lies=False, progress=False, timeout=0.2)
    assert report.answered_lengths == list(range(243, 260)) and report.first_answered == 243
    assert report.complete and report.killer is None and all(r.alive for r in report.rows)
    assert report.elapsed < 2  # no case waited a full timeout
    assert "len-00230 .. len-00242" in repr(report) and "OFFER" in repr(report)


def test_the_case_that_kills_the_device_is_named_with_its_bytes():
    s = session_with(Device(kill=250))
    report = s.sweep_lengths(range(240, 260), headers=False, lies=False, progress=False, timeout=0.1)
    assert report.killer is not None and report.killer.name == "len-00250"
    assert report.rows[-1] is report.killer and len(report.rows) == 11
    assert len(report.killer.frames[0]) == 42 + 250 and "stopped answering after len-00250" in repr(report)
    assert len(report.remaining) == 9


def test_ctrl_c_gives_a_partial_report_that_resumes(tmp_path):
    device = Device(interrupt_after=10)
    s = session_with(device, tmp_path)
    report = s.sweep_lengths(range(240, 260), headers=False, lies=False, progress=False, timeout=0.1)
    assert report.interrupted and 0 < len(report.rows) < 20 and "interrupted" in repr(report)
    report.resume(progress=False, timeout=0.3)  # takes what the sweep took
    assert report.complete and [r.name for r in report.rows] == [f"len-{n:05d}" for n in range(240, 260)]
    assert report.runner.probe_timeout == 0.3 and report.runner.progress is False
    with pytest.raises(TypeError):
        report.resume(bogus=1)


def test_given_lengths_are_exactly_what_is_sent():
    s = session_with(Device())
    assert [r.name for r in s.sweep_lengths(range(240, 245), progress=False, timeout=0.1).rows] == \
        [f"len-{n:05d}" for n in range(240, 245)]
    with_extras = s.sweep_lengths(range(240, 245), headers=True, lies=True, progress=False, timeout=0.1)
    assert {r.kind for r in with_extras.rows} == {"header-cut", "length", "lie"}
    assert len(with_extras.rows) == 28 + 5 + 10
    whole = s.sweep_lengths(progress=False, timeout=0.1)  # no lengths: the header cuts and lies come too
    assert {r.kind for r in whole.rows} == {"header-cut", "length", "fragmented", "lie"}


def test_resume_after_a_restart_uses_the_journal(tmp_path):
    s = session_with(Device(interrupt_after=8), tmp_path)
    first = s.sweep_lengths(range(240, 260), headers=False, lies=False, progress=False, timeout=0.1)
    sent = {r.name for r in first.rows}
    s.close()
    again = DhcpSession(transport=Transport("fake0", sock=FakeSocket(Device())), mac=MAC,
                        state_file=str(tmp_path / "state.json"))
    rest = again.sweep_lengths(resume=True, progress=False, timeout=0.1)
    assert rest.sweep_id == first.sweep_id and rest.complete
    assert {r.name for r in rest.rows} == {f"len-{n:05d}" for n in range(240, 260)} - sent


def test_report_files(tmp_path):
    s = session_with(Device())
    report = s.sweep_lengths(range(240, 246), lies=True, progress=False, timeout=0.1)
    import json
    data = json.loads(open(report.to_json(str(tmp_path / "r.json"))).read())
    assert data["answered_lengths"] == [243, 244, 245] and len(data["rows"]) == 6 + 10
    assert bytes.fromhex(data["rows"][0]["frames"][0]) == report.rows[0].frames[0]
    report.plot(str(tmp_path / "r.png"))
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert "<table>" in report._repr_html_()


def test_malformed_sweep_and_unknown_names():
    s = session_with(Device())
    report = s.sweep_malformed(["no-end", "hlen-0", "split-hostname"], progress=False, timeout=0.1)
    assert [r.name for r in report.rows] == ["no-end", "split-hostname", "hlen-0"]  # catalog order
    from scapy_dhcp_ext import UsageError
    with pytest.raises(UsageError, match="unknown case"):
        s.sweep_malformed(["nope"])


def test_the_journal_has_every_case_and_probe(tmp_path):
    import json
    s = session_with(Device(), tmp_path)
    report = s.sweep_lengths(range(240, 250), headers=False, lies=False, progress=False, timeout=0.1)
    lines = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_text().splitlines()]
    ours = [(r["dir"], r["op"]) for r in lines if report.sweep_id in r.get("op", "")]  # frames, not states
    assert sum(op.endswith(" probe") for _d, op in ours) == 20      # each probe out and its answer in
    cases = [(d, op) for d, op in ours if op.startswith(f"SWEEP {report.sweep_id} len-")]
    assert sum(d == "out" for d, _ in cases) == 10 and sum(d == "in" for d, _ in cases) == 7  # 243..249


def test_the_length_plot_labels_its_thresholds_and_sets_fragments_apart(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    s = session_with(Device())
    report = s.sweep_lengths([240, 241, 242, 243, 244, 245, 1473, 2000], progress=False, timeout=0.1)
    fig = report.plot()
    main, side = fig.axes
    texts = [t.get_text() for t in main.texts]
    assert "first answered: 243" in texts and "MTU edge: 245" in texts
    assert [t.get_text() for t in side.get_xticklabels()] == ["1473", "2000"]
    assert main.get_xlim()[1] < 300   # the interesting lengths are not squeezed by 2,000
    assert {t.get_text() for t in main.get_legend().get_texts()} == {"answered", "no reply"}


def test_the_replies_plot_colours_each_case_by_verdict():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.colors import to_hex

    from scapy_dhcp_ext.workloads.reply_report import COLOURS, ReplyReport, ReplyRow

    rows = [ReplyRow("a", "RFC 2131", "offer", "x", verdict="accepted", seconds=0.2),
            ReplyRow("b", "RFC 2131", "ack", "y", verdict="dead", seconds=1.5),
            ReplyRow("c", "CVE-2020-7461", "ack", "z", expect="rejected", verdict="accepted", seconds=0.1)]
    report = ReplyReport("s1", rows=rows, killer=rows[1], retry=1.0)
    ax = report.plot().axes[0]
    assert [to_hex(p.get_facecolor()) for p in ax.patches] == [COLOURS["accepted"], COLOURS["dead"],
                                                               COLOURS["accepted"]]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c !"]   # ! not what a careful client does
    assert "killer" in [t.get_text() for t in ax.texts] and "killer: b" in repr(report)
    assert report.counts() == {"accepted": 2, "dead": 1} and '"killer": "b"' in report.to_json()
