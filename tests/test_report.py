"""One report for every result with rows: the checks, the length and malformed
sweeps (v4 and v6), the reply sweep and the loads answer the same names with
the same meaning. Each report here is built from frames our own builders make;
what it writes is read back by something that is not our code: json, ElementTree,
Scapy's pcapng reader, and Debian's Chromium for the HTML file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from scapy_dhcp_ext.wire import ACK, DISCOVER, OFFER, REQUEST
from scapy_dhcp_ext.wire.dhcp6 import SOLICIT
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message
from scapy_dhcp_ext.wire.messages6 import frame6, message6
from scapy_dhcp_ext.workloads.checks import CheckReport, CheckResult
from scapy_dhcp_ext.workloads.load4 import LoadResult
from scapy_dhcp_ext.workloads.load6 import Load6Result
from scapy_dhcp_ext.workloads.reply_report import ReplyReport, ReplyRow
from scapy_dhcp_ext.workloads.report import Report
from scapy_dhcp_ext.workloads.sweep_report import Row, SweepReport
from tests.support.fakes import reply_frame as _reply_frame

MAC = "02:00:00:00:00:01"
T0 = 1_700_000_000.0


def reply_frame(request: bytes, kind: int, yiaddr: str) -> bytes:
    return _reply_frame(parse_frame(request), kind, yiaddr=yiaddr)


def discover(xid: int) -> bytes:
    return build_message(DISCOVER, mac=MAC, xid=xid, opts=MessageOptions(hostname="probe"))


def check_report() -> CheckReport:
    r = CheckReport("server", "10.0.0.1", elapsed=1.5)
    ok = CheckResult("xid-echoed", "2131 table 3", "MUST", "the xid", "pass", "echoed", 0.2,
                     [("out", discover(1), T0), ("in", reply_frame(discover(1), OFFER, "10.0.0.50"), T0 + 0.01)])
    bad = CheckResult("offer-has-server-id", "2131 4.3.1", "MUST", "option 54", "fail", "no option 54", 0.3,
                      [("out", discover(2), T0 + 1)])
    r.rows += [ok, bad, CheckResult("relay-agent-info-echoed", "3046 2.2", "MUST", "82", "n/a", "no relay")]
    return r


def reply_report() -> ReplyReport:
    r = ReplyReport("abcd1234", elapsed=9.0, retry=1.0)
    req = build_message(REQUEST, mac=MAC, xid=7, opts=MessageOptions())
    fine = ReplyRow("yiaddr-zero", "RFC 2131 4.3.1", "ack", "yiaddr 0.0.0.0", "rejected", T0, "accepted",
                    "it answers ARP", seconds=2.0,
                    frames=[("in", req, T0), ("hostile", reply_frame(req, ACK, "0.0.0.0"), T0 + 0.1)])
    dead = ReplyRow("option-past-end", "CVE-2018-20679", "ack", "an option past the end", "rejected", T0 + 3,
                    "dead", "silent for 1.5 s and the probe failed", seconds=1.5,
                    frames=[("in", req, T0 + 3), ("hostile", reply_frame(req, ACK, "10.0.0.9"), T0 + 3.1)])
    r.rows += [fine, dead]
    r.killer = dead
    return r


def sweep_report() -> SweepReport:
    r = SweepReport("length", "s1", elapsed=2.0)
    answered = Row("len-00300", "300 bytes", [discover(3)], 300, "length", sent_at=T0, latency=0.001,
                   alive=True)
    answered.replies = [parse_frame(reply_frame(discover(3), OFFER, "10.0.0.51"), 5.0)]
    silent = Row("len-00100", "100 bytes", [discover(4)], 100, "length", sent_at=T0 + 1, alive=True)
    killer = Row("len-00200", "200 bytes", [discover(5)], 200, "length", sent_at=T0 + 2, alive=False)
    r.rows += [answered, silent, killer]
    r.killer = killer
    return r


def sweep6_report() -> SweepReport:
    r = SweepReport("malformed6", "s6", elapsed=1.0)
    solicit = frame6(message6(SOLICIT, 0x123456, []), mac=MAC)
    r.rows.append(Row("no-client-id", "a SOLICIT without option 1", [solicit], None, "malformed6", sent_at=T0,
                      alive=True))
    return r


def load_report() -> LoadResult:
    r = LoadResult(clients=100, in_flight=16, target_rate=None, duration=2.0, started=120, completed=100, drops=20)
    r.latency_ms = {"discover-offer": {"p50": 0.4, "p90": 0.9, "p99": 1.2, "max": 3.0},
                 "request-ack": {"p50": 0.3, "p90": 0.5, "p99": 0.8, "max": 1.0}}
    return r


def load6_report() -> Load6Result:
    r = Load6Result(clients=10, in_flight=4, target_rate=None, duration=1.0, started=10, completed=10)
    r.latency_ms = {"sarr": {"p50": 0.5, "p90": 0.7, "p99": 0.9, "max": 1.1}}
    return r


REPORTS = {"checks": check_report, "replies": reply_report, "sweep": sweep_report, "sweep6": sweep6_report,
           "load": load_report, "load6": load6_report}
FAILED = {"checks": ["offer-has-server-id"], "replies": ["option-past-end"], "sweep": ["len-00200"],
          "sweep6": [], "load": ["drops"], "load6": []}


@pytest.fixture(params=sorted(REPORTS))
def named(request):
    return request.param, REPORTS[request.param]()


def test_every_report_is_one_report_with_the_same_names(named):
    name, report = named
    assert isinstance(report, Report)
    for method in ("headline", "to_json", "to_junit", "to_pcap", "plot", "to_html", "_repr_html_", "counts",
                   "verdicts"):
        assert callable(getattr(report, method)), method
    assert [r.key for r in report.failed] == FAILED[name]
    assert report.headline() and report.summary() == report.headline().splitlines()[0]
    assert "<table>" in report._repr_html_() and report.summary() in repr(report)


def test_json_and_junit_say_the_same_rows(named, tmp_path):
    _name, report = named
    path = report.to_json(str(tmp_path / "r.json"))
    assert path == str(tmp_path / "r.json")
    data = json.loads(open(path).read())
    rows = data.get("rows") or data.get("checks")
    assert len(rows) == len(report.rows) and data["counts"] == report.counts()
    assert json.loads(report.to_json()) == data            # no path: the text itself
    junit = report.to_junit(str(tmp_path / "r.xml"))
    suite = ET.parse(junit).getroot()
    cases = list(suite.iter("testcase"))
    assert [c.get("name") for c in cases] == [r.key for r in report.rows]
    assert int(suite.get("failures")) == len(report.failed)
    assert [c.get("name") for c in cases if c.find("failure") is not None] == [r.key for r in report.failed]


def test_pcapng_comments_every_frame_with_its_row_and_verdict(named, tmp_path):
    from scapy.utils import PcapNgReader

    _name, report = named
    path = report.to_pcap(str(tmp_path / "r.pcapng"))
    assert path == str(tmp_path / "r.pcapng")
    with PcapNgReader(path) as reader:
        got = [(bytes(p), p.comment.decode()) for p in reader]
    want = [(raw, r) for r in report.rows for _d, raw, _t in r.evidence()]
    assert [raw for raw, _c in got] == [raw for raw, _r in want]
    for (_raw, comment), (_raw2, row) in zip(got, want):
        assert comment.startswith(row.key) and row.verdict in comment


def test_plot_writes_the_path_it_is_given(named, tmp_path):
    _name, report = named
    path = report.plot(str(tmp_path / "r.png"))
    assert path == str(tmp_path / "r.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


class _Table(HTMLParser):
    """The first table's rows as a browser left them, and the page's images and hex views."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self.hex: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_frames = 0
        self._pre: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            if attrs.get("class") == "frames":
                self._in_frames += 1
            else:
                self._row = []
        elif tag in ("td", "th") and self._row is not None and not self._in_frames:
            self._cell = []
        elif tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "pre" and attrs.get("class") == "hex":
            self._pre = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            assert self._row is not None
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            if self._in_frames:
                self._in_frames -= 1
            elif self._row is not None:
                self.rows.append(self._row)
                self._row = None
        elif tag == "pre" and self._pre is not None:
            self.hex.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._pre is not None:
            self._pre.append(data)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: ./dev.sh install puts it there (Debian's package chromium)")
        pytest.skip("no chromium here: apt-get install chromium (./dev.sh test installs it)")
    return found


def test_the_html_file_opens_in_chromium_with_the_table_the_plot_and_the_frames(named, tmp_path):
    """The file a person opens from a CI artifact, rendered by a real browser (headless
    Chromium, Debian's): the table it shows is the report's, the plot is inline, and
    every frame of the rows it lists is there as a hex view."""
    _name, report = named
    path = report.to_html(str(tmp_path / "report.html"))
    assert path == str(tmp_path / "report.html")
    dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", f"file://{path}"],
                         capture_output=True, text=True, timeout=120, check=True,
                         env={**os.environ, "HOME": str(tmp_path)}).stdout
    page = _Table()
    page.feed(dom)
    assert page.rows == report.table()
    assert any(src.startswith("data:image/png;base64,") for src in page.images)
    shown = [row for row, _cells in report.display_rows()]
    frames = [raw for row in shown for _d, raw, _t in row.evidence()]
    assert len(page.hex) == len(frames)
    for view, raw in zip(page.hex, frames):
        assert view.splitlines()[0].startswith("0000  " + raw[:16].hex(" "))
