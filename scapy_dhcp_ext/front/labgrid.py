"""labgrid driver: scapy-dhcp on a board's network port, in labgrid's engine.

An environment file names it among its ``imports`` and binds it to the
``NetworkInterface`` the board is wired to::

    targets:
      main:
        resources:
          NetworkInterface: {ifname: eth1}
        drivers:
          ScapyDhcpDriver: {}
    imports:
      - scapy_dhcp_ext.labgrid

A board wired to another host is reached through a place that host's
exporter exports (a ``RemoteNetworkInterface``): labgrid's own
``RawNetworkInterfaceDriver`` sits beside the driver, and its
``setup_netns()`` carries the board's link into a network namespace here
(a macvtap on the exporter, a tap in the namespace, frames over ssh)::

    targets:
      main:
        resources:
          RemotePlace: {name: board-17}
        drivers:
          RawNetworkInterfaceDriver: {}
          ScapyDhcpDriver: {}

The exporter's host needs labgrid's ``labgrid-raw-interface`` helper, run
with sudo (docs/ci.md says how). The macvtap passes the frames for its own
MAC (the session's) and broadcasts.

A test (``pytest --lg-env env.yaml``) takes the driver from the target::

    def test_board(target):
        dhcp = target.get_driver("ScapyDhcpDriver")
        target.activate(dhcp)
        assert not dhcp.check_server().failed

The driver holds one :class:`~scapy_dhcp_ext.session.DhcpSession` on the
interface while active, and exposes its operations, each a labgrid step.
``DhcpAddressStrategy`` is what labgrid issue #1095 asks for: it
power-cycles the board, answers its DHCP with ``serve()`` and fills in the
address the board took (``strategy.address``), for the tests that follow::

        drivers:
          ScapyDhcpDriver: {}
          ExternalPowerDriver: {cmd_on: "...", cmd_off: "..."}    # or any PowerProtocol driver
          DhcpAddressStrategy: {timeout: 60.0}

    strategy = target.get_driver("DhcpAddressStrategy")
    strategy.transition("addressed")
    ssh_to(strategy.address)

This module is an adapter: it imports labgrid (the ``labgrid`` extra), and
nothing below it does.
"""

from __future__ import annotations

import contextlib
import enum
from typing import Any

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.step import step
from labgrid.strategy.common import Strategy, StrategyError, never_retry

from ..errors import UsageError, old_keyword
from ..link.transport import Transport
from ..session import DhcpSession


@target_factory.reg_driver
@attr.s(eq=False)
class ScapyDhcpDriver(Driver):
    """DHCP bring-up on the bound network interface: ``dora()``, ``serve()``,
    ``check_server()``, ``check_client()`` and the sweeps."""

    bindings = {
        "iface": {"NetworkInterface", "RemoteNetworkInterface"},
        "raw": {"RawNetworkInterfaceDriver", None},   # for a RemoteNetworkInterface
    }

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.session: DhcpSession | None = None
        self._link = contextlib.ExitStack()

    def on_activate(self) -> None:
        if not hasattr(self.iface, "host"):   # a NetworkInterface of this host
            self.session = DhcpSession(self.iface.ifname, state_file=False)
            return
        if self.raw is None:
            raise UsageError(f"{self.iface.ifname} is on {self.iface.host}: put RawNetworkInterfaceDriver "
                             "beside ScapyDhcpDriver in the environment file (it brings the link here)")
        ns = self._link.enter_context(self.raw.setup_netns())
        try:
            transport = Transport(ns.intf, new_socket=ns.socket, single_mac=True)
            self.session = DhcpSession(transport=transport, state_file=False)
        except BaseException:
            self._link.close()
            raise

    def on_deactivate(self) -> None:
        try:
            if self.session is not None:
                self.session.close()
        finally:
            self.session = None
            self._link.close()   # the remote link's namespace, tap and forwarders

    def _session(self) -> DhcpSession:
        assert self.session is not None
        return self.session

    @Driver.check_active
    @step()
    def dora(self, **kwargs: Any) -> Any:
        return self._session().dora(**kwargs)

    @Driver.check_active
    @step()
    def serve(self, pool: str | None = None, **kwargs: Any) -> Any:
        return self._session().serve(pool, **kwargs)

    @Driver.check_active
    @step()
    def check_server(self, **kwargs: Any) -> Any:
        return self._session().check_server(**{"progress": False, **kwargs})

    @Driver.check_active
    @step()
    def check_client(self, **kwargs: Any) -> Any:
        return self._session().check_client(**{"progress": False, **kwargs})

    @Driver.check_active
    @step()
    def serve6(self, addresses: str | None = None, **kwargs: Any) -> Any:
        return self._session().v6.serve(addresses, **kwargs)

    @Driver.check_active
    @step()
    def check_server6(self, **kwargs: Any) -> Any:
        return self._session().v6.check_server(**{"progress": False, **kwargs})

    @Driver.check_active
    @step()
    def check_client6(self, **kwargs: Any) -> Any:
        return self._session().v6.check_client(**{"progress": False, **kwargs})

    @Driver.check_active
    @step()
    def sweep_lengths(self, *args: Any, **kwargs: Any) -> Any:
        return self._session().sweep_lengths(*args, **{"progress": False, **kwargs})

    @Driver.check_active
    @step()
    def sweep_malformed(self, *args: Any, **kwargs: Any) -> Any:
        return self._session().sweep_malformed(*args, **{"progress": False, **kwargs})

    @Driver.check_active
    @step()
    def sweep_replies(self, *args: Any, **kwargs: Any) -> Any:
        return self._session().sweep_replies(*args, **{"progress": False, **kwargs})

    @Driver.check_active
    @step()
    def sweep_replies6(self, *args: Any, **kwargs: Any) -> Any:
        return self._session().v6.sweep_replies(*args, **{"progress": False, **kwargs})


class Status(enum.Enum):
    unknown = 0
    off = 1
    addressed = 2


@target_factory.reg_driver
@attr.s(eq=False)
class DhcpAddressStrategy(Strategy):
    """Power-cycles the board and learns its address from its own DHCP: our
    ``serve()`` answers it (only ``device_mac``, when given) and keeps serving
    while the board is ``addressed``; ``address`` and ``lease`` say what it
    took. (``mac:`` was ``device_mac:``'s name; it warns for one release.)"""

    bindings = {"power": "PowerProtocol", "dhcp": "ScapyDhcpDriver"}
    status = attr.ib(default=Status.unknown)
    timeout = attr.ib(default=60.0, validator=attr.validators.instance_of(float))
    pool = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))
    device_mac = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))
    mac = attr.ib(default=None, validator=attr.validators.optional(attr.validators.instance_of(str)))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.device_mac = old_keyword("DhcpAddressStrategy", "mac", "device_mac", self.mac, self.device_mac)
        self.server: Any = None
        self.lease: Any = None

    @property
    def address(self) -> str | None:
        """The address the board took (None unless ``addressed``)."""
        return self.lease.address if self.lease is not None else None

    @never_retry
    @step(args=["status"])
    def transition(self, status: Any, *, step: Any) -> None:
        if not isinstance(status, Status):
            status = Status[status]
        if status == Status.unknown:
            raise StrategyError(f"can not transition to {status}")
        if status == self.status:
            step.skip("nothing to do")
            return
        self.target.activate(self.power)
        self.target.activate(self.dhcp)
        self._stop_serving()
        self.power.off()
        if status == Status.addressed:
            self.server = self.dhcp.serve(self.pool, macs=[self.device_mac] if self.device_mac else None)
            self.power.on()
            self.lease = self.server.wait_lease(device_mac=self.device_mac, timeout=self.timeout)
        self.status = status

    def _stop_serving(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        self.lease = None

