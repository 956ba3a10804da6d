"""pytest plugin: a board's DHCP in CI, as plain pytest (registered as ``pytest11``).

::

    $ sudo pytest --dhcp-iface eth1 --dhcp-conformance server --junitxml=server.xml
    $ sudo pytest --dhcp-lab kea --dhcp-conformance server     # against a lab made for the run
    $ sudo pytest --dhcp-lab dhcpcd6 --dhcp-conformance client6 # a DHCPv6 client's RFC 8415 checks
    $ sudo pytest --dhcp-lab udhcpc tests/                      # your own tests, against a real client

With ``--dhcp-conformance server`` (or ``client``; ``server6``, ``client6`` for DHCPv6) every check of
``check_server()`` (``check_client()``, ``check_server6()``, ``check_client6()``) is one test item, named by its id: the
catalog runs once, when the first item runs (only the items ``-k`` leaves), and
each item reports its own verdict. ``fail`` fails, ``inconclusive`` is an
error, ``n/a`` a skip, ``warn`` a pass with a warning; the JUnit XML carries
``rfc``, ``level`` and ``verdict`` as properties of each test case, and a
failure's frames go to ``<check id>.pcapng`` beside the report (the message
names the file).

With labgrid's plugin too (``pytest --lg-env env.yaml``, the ``labgrid``
extra), ``dhcp`` is the session of the target's ``ScapyDhcpDriver`` (see
:mod:`scapy_dhcp_ext.labgrid`), so one run has both ``target`` and ``dhcp``.

Your own bring-up tests use the fixtures::

    def test_board_gets_lease(dhcp):
        assert dhcp.dora().lease.lease_time >= 600

    @pytest.mark.rfc("2131 4.3.2")
    def test_board_naks_a_foreign_address(dhcp):
        assert dhcp.request("192.0.2.7").nak

- ``dhcp``: a session on ``--dhcp-iface`` or the lab's link, closed after the test;
- ``dhcp_lab``: the lab of ``--dhcp-lab`` (one for the whole run, removed at its end);
- ``dhcp_server``: a running ``serve()`` on that link, stopped after the test;
- ``dhcp_client_events``: in a client lab (udhcpc, dhcpcd), the client itself:
  ``.events()`` is what it reported, ``.wait_event("bound")`` waits for it.

This module is an adapter: it imports pytest, and nothing below it does.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest

from ..lab import CLIENT_KINDS, SERVER_KINDS
from ..wire.frames4 import parse_frame
from ..wire.frames6 import parse_frame6

LAB_KINDS = (*SERVER_KINDS, *CLIENT_KINDS)


class DhcpCheckWarning(UserWarning):
    """A SHOULD the device does not meet (a check's ``warn``)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scapy-dhcp", "DHCP bring-up checks (scapy-dhcp)")
    group.addoption("--dhcp-iface", metavar="IF", help="the interface the device under test is on")
    group.addoption("--dhcp-lab", type=_lab_kind, metavar="|".join(LAB_KINDS),
                    help="a lab for the run, with this real server or client (needs root), removed at the end; a "
                    "client may take options: udhcpc:shipped, dhcpcd:shipped, embedded:OPTIONS")
    group.addoption("--dhcp-conformance", choices=("server", "client", "server6", "client6"),
                    help="one test item per check of check_server() or check_client() (server6, client6: "
                    "of check_server6() or check_client6())")
    group.addoption("--dhcp-device-mac", metavar="MAC",
                    help="client conformance: the device under test (default: the first MAC that sends DHCP twice)")
    group.addoption("--dhcp-destructive", action="store_true",
                    help="server conformance: also the checks that RELEASE and DECLINE")
    group.addoption("--dhcp-slow", action="store_true",
                    help="client conformance: also the checks that take minutes (a REQUEST unanswered; SOL_MAX_RT)")
    group.addoption("--dhcp-evidence", metavar="DIR",
                    help="where failing checks' frames go as pcapng (default: beside --junitxml, else .)")


def _lab_kind(text: str) -> str:
    """``--dhcp-lab``'s value: a server kind, or a client kind with its options."""
    import argparse

    from ..lab.clients import parse_spec

    if text in SERVER_KINDS:
        return text
    try:
        parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or a server: {', '.join(SERVER_KINDS)})") from None
    return text


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rfc(clause): the RFC clause a test checks, e.g. rfc('2131 4.3.2'); "
                                       "it goes to the JUnit XML as the property rfc")


# -- the lab and the interface, one per run ------------------------------------------

def _lab(config: pytest.Config) -> Any:
    """The run's lab (made on first use, removed when the run ends), or None without --dhcp-lab."""
    kind = config.getoption("dhcp_lab")
    if not kind:
        return None
    lab = getattr(config, "_scapy_dhcp_lab", None)
    if lab is None:
        from ..lab import Lab, LabError

        servers, clients = ([kind], []) if kind in SERVER_KINDS else ([], [kind])
        try:
            lab = Lab(servers, clients=clients).start()
        except LabError as exc:
            raise pytest.UsageError(f"--dhcp-lab {kind}: {exc}") from None
        config._scapy_dhcp_lab = lab  # type: ignore[attr-defined]
        config.add_cleanup(lab.stop)
    return lab


def _option(config: pytest.Config, name: str) -> Any:
    """Another plugin's option (labgrid's --lg-env), None when that plugin is not loaded."""
    try:
        return config.getoption(name)
    except ValueError:
        return None


def _labgrid_driver(config: pytest.Config) -> Any:
    """With ``--lg-env``: the main target's ScapyDhcpDriver, activated; else None."""
    if not _option(config, "lg_env"):
        return None
    from labgrid.pytestplugin.hooks import LABGRID_ENV_KEY

    target = config.stash[LABGRID_ENV_KEY].get_target()
    driver = target.get_driver("ScapyDhcpDriver")
    target.activate(driver)
    return driver


def _uses_labgrid(config: pytest.Config) -> bool:
    """labgrid's --lg-env gives the device when neither --dhcp-iface nor --dhcp-lab does."""
    return _lab(config) is None and not config.getoption("dhcp_iface") and bool(_option(config, "lg_env"))


def _session(config: pytest.Config) -> tuple[Any, bool]:
    """The session for a test or the catalog, and whether it is ours to close: the labgrid
    driver's (labgrid closes it), or a new one on the link, that restarts a lab's client."""
    from ..session import DhcpSession

    if _uses_labgrid(config):
        return _labgrid_driver(config).session, False
    session = DhcpSession(_iface(config), state_file=False)
    lab = _lab(config)
    if lab is not None and lab.clients:
        session.restart_device, session.release_device = lab.clients[0].restart, lab.clients[0].release
        session.renew_device, session.link_change_device = lab.clients[0].renew, lab.clients[0].link_change
        session.inform_device = lab.clients[0].inform
    return session, True


def _iface(config: pytest.Config) -> str:
    lab = _lab(config)
    iface = lab.iface if lab is not None else config.getoption("dhcp_iface")
    if not iface:
        pytest.skip("no device to test: give --dhcp-iface IF or --dhcp-lab KIND")
    return str(iface)


@pytest.fixture(scope="session")
def dhcp_lab(pytestconfig: pytest.Config) -> Any:
    """The lab of ``--dhcp-lab`` (skips the test without one)."""
    lab = _lab(pytestconfig)
    if lab is None:
        pytest.skip("no lab: give --dhcp-lab " + "|".join(LAB_KINDS))
    return lab


@pytest.fixture
def dhcp(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Iterator[Any]:
    """A DHCP session on the device's link (no state file), closed after the test.
    With labgrid's ``--lg-env`` (and neither --dhcp-iface nor --dhcp-lab), the
    session of the target's ``ScapyDhcpDriver``, activated."""
    if _uses_labgrid(pytestconfig):
        request.getfixturevalue("target")   # labgrid's environment, as its own fixtures make it
    session, owned = _session(pytestconfig)
    try:
        yield session
    finally:
        if owned:
            session.close()


@pytest.fixture
def dhcp_server(dhcp: Any) -> Iterator[Any]:
    """A running ``serve()`` on the device's link, stopped after the test."""
    server = dhcp.serve()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dhcp_client_events(dhcp_lab: Any) -> Any:
    """The lab's DHCP client itself: ``.events()`` is what it reported, ``.wait_event(...)`` waits."""
    if not dhcp_lab.clients:
        pytest.skip("dhcp_client_events needs a client lab: --dhcp-lab udhcpc|dhcpcd")
    return dhcp_lab.clients[0]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("rfc"):
        if mark.args:
            item.user_properties.append(("rfc", str(mark.args[0])))


# -- conformance: one item per check ---------------------------------------------------

class Conformance:
    """The one run of the catalog that every check item reads its verdict from."""

    def __init__(self, config: pytest.Config, role: str) -> None:
        self.config, self.role = config, role
        self.report: Any = None
        self.error: str | None = None

    def run(self, ids: list[str]) -> None:
        if self.report is not None or self.error is not None:
            return
        from ..errors import DhcpError

        session, owned = _session(self.config)
        try:
            destructive, device = self.config.getoption("dhcp_destructive"), self.config.getoption("dhcp_device_mac")
            slow = self.config.getoption("dhcp_slow")
            if self.role == "server":
                self.report = session.check_server(only=ids, destructive=destructive, progress=False)
            elif self.role == "server6":
                self.report = session.v6.check_server(only=ids, destructive=destructive, progress=False)
            elif self.role == "client6":   # restarts and releases a lab client
                self.report = session.v6.check_client(only=ids, device=device, slow=slow, progress=False)
            else:
                self.report = session.check_client(only=ids, progress=False,   # restarts a lab client
                                                   device_mac=device, slow=slow)
        except DhcpError as exc:
            self.error = str(exc)
        finally:
            if owned:
                session.close()

    def evidence(self, check_id: str) -> Path:
        folder = self.config.getoption("dhcp_evidence")
        if not folder:
            xml = getattr(self.config.option, "xmlpath", None)
            folder = Path(xml).parent if xml else Path.cwd()
        path = Path(folder) / f"{check_id}.pcapng"
        path.parent.mkdir(parents=True, exist_ok=True)
        return Path(self.report.to_pcap(str(path), checks=[check_id]))


class CheckFailed(Exception):
    """A check's ``fail``: the message says why, the frames and where they were written."""


class CheckItem(pytest.Item):
    """One check of the catalog, as a test item named by its id."""

    def __init__(self, *, check: Any, conformance: Conformance, **kw: Any) -> None:
        super().__init__(**kw)
        self.check, self.conformance = check, conformance
        self.result: Any = None
        self.fixturenames: list[str] = []   # other plugins' hooks (labgrid's) read these of any item
        self.funcargs: dict[str, Any] = {}

    def setup(self) -> None:
        ids = [i.name for i in self.session.items if isinstance(i, CheckItem)]
        self.conformance.run(ids)
        if self.conformance.error is not None:
            raise CheckFailed(f"the checks could not run: {self.conformance.error}")
        self.result = self.conformance.report[self.check.id]
        self.user_properties += [("rfc", self.check.rfc), ("level", self.check.level),
                                 ("verdict", self.result.verdict)]
        if self.result.verdict == "inconclusive":
            raise CheckFailed(f"inconclusive: {self.result.why}")   # an error, not a failure

    def runtest(self) -> None:
        r = self.result
        if r.verdict in ("n/a", "not run"):
            pytest.skip(r.why or r.verdict)
        if r.verdict == "warn":
            warnings.warn(DhcpCheckWarning(f"{r.id} (RFC {r.rfc}, SHOULD): {r.why}"), stacklevel=1)
        if r.verdict == "fail":
            path = self.conformance.evidence(r.id)
            read = parse_frame6 if self.conformance.role.endswith("6") else parse_frame
            frames = "\n".join(f"  {d} {read(raw).summary()}" for d, raw, _t in r.frames)
            raise CheckFailed(f"{r.id} (RFC {r.rfc}, {r.level}): {r.why}\nframes in {path}:\n{frames}")

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.check.id}: {self.check.rule} (RFC {self.check.rfc}, {self.check.level})"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Adds the catalog's items before -k and -m choose among them."""
    role = config.getoption("dhcp_conformance")
    if not role:
        return
    if role == "server":
        from ..workloads.server_checks4 import SERVER_CHECKS as catalog
    elif role == "server6":
        from ..workloads.server_checks6 import SERVER_CHECKS6 as catalog
    elif role == "client6":
        from ..workloads.client_checks6 import CLIENT_CHECKS6 as catalog
    else:
        from ..workloads.client_checks4 import CLIENT_CHECKS as catalog
    conformance = Conformance(config, role)
    items.extend(CheckItem.from_parent(session, name=c.id, check=c, conformance=conformance) for c in catalog)
