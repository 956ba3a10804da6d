"""``sweep_replies6()``: hostile DHCPv6 replies to a device's DHCPv6 client, one case at a
time, each with a verdict on what the client did; the v4 sweep's twin.

Usage (at the ``scapy-dhcp --lab-client dhcpcd6`` prompt)::

    >>> r = sweep_replies6()                      # restart= defaults to the lab client's
    >>> r.killer                                  # the first case that killed it, with its frames
    >>> r.to_pcap("replies6.pcapng")              # each frame commented with its case and verdict
    >>> sweep_replies6(["reply-pd-exclude-121"], device_mac=lab.clients[0].mac)

It runs our server (``serve6()``, preference 255 so that the client REQUESTs at once) and
puts each case's frames (:mod:`.reply_cases6`, 70-odd) in place of the ADVERTISE to the
device's SOLICIT, of the REPLY to its REQUEST, or sends an unauthenticated RECONFIGURE
once it is bound. Verdicts, in the v4 sweep's words:

- ``accepted``: it went on: a REQUEST after an ADVERTISE case; after a REPLY case, a
  RENEW or REBIND, duplicate address detection for the address, or quiet and alive;
- ``rejected``: it dropped or refused the reply and carried on (SOLICITed or REQUESTed
  again, DECLINEd), or stayed quiet and alive after an ADVERTISE;
- ``ignored``: a RECONFIGURE it let pass (no RENEW within 2 s);
- ``inconclusive``: the evidence cannot tell;
- ``dead``: silent past its next retransmission (twice the gap before the case's
  SOLICIT, as it backs off, plus ``margin``) and the probe fails; after a REPLY case
  silent past T2 of the lease too.

Everything the device does counts as a sign of life (:mod:`.liveness`): its DHCPv6
messages, duplicate address detection and neighbour solicitations and advertisements,
ICMPv6. The ``probe`` decides when it is quiet: ``"traffic"`` sends a neighbour
solicitation to its link-local address (a device whose network task froze does not
answer; a host whose DHCP process died still does: give a callable), or a callable that
returns whether it lives (the lab client's ``alive``, a serial console, ssh).

Between cases the device must SOLICIT again: a SOLICIT after a verdict starts the next
case, unless the device has backed off past 2.5 s between its SOLICITs; a device that
REQUESTed, is bound or backs off far is restarted with ``restart()``. Without one it comes
back on its own: its REQUEST gets a short lease, which ends, and it SOLICITs.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any, Callable

from ..errors import UsageError
from ..wire import mac_bytes
from ..wire.dhcp6 import link_local
from .reply_cases6 import select6
from .reply_machine6 import RECONFIGURE_WITHIN, ReplyMachine6
from .reply_report import ReplyReport, resumed

if TYPE_CHECKING:
    from ..roles.server6 import Dhcp6Server

CAP = 120.0          # RFC 8415 7.6: SOL_MAX_RT; a wait never grows past this


class ReplyReport6(ReplyReport):
    KIND = "sweep_replies6"


class ReplySweeper6(ReplyMachine6):
    """One sweep: the machine moved by the device's messages, and the caller's thread that
    times the silences, probes and restarts."""

    NOTE = "sweep_replies6"
    quiet_for = 0.0

    def window(self) -> float:
        """How long silence may last before the probe decides: its next retransmission
        (twice the gap before the case's SOLICIT, as it backs off; else 1.2 times its
        measured interval), plus the margin."""
        step = 2.2 * self.gap_before if self.gap_before else 1.2 * (self.retry or 1.0)
        return min(CAP, max(step, 1.5)) + self.margin

    def _step(self) -> None:
        with self.cond:
            self.cond.wait(0.05)
            mode, since, now, case = self.mode, self.since, time.monotonic(), self.case
            last = max(since, self.life.last(since) or since)
        if mode == "measure":
            self._measure(now, since, last)
        elif mode == "wait":
            # no SOLICIT when one was due (dhcpcd stuck after the flood); once restarted, it has comeback s to boot
            silent = now - last > self.window() + 1.0 and not self.restarts
            if (self.quiet or silent) and self.restart is not None and self.restarts < 3:
                if silent and not self.quiet and self.report.rows:
                    row = self.report.rows[-1]
                    row.note = (row.note + "; " if row.note else "") + \
                        f"then silent for {now - last:.1f} s, no SOLICIT: restarted"
                self._restart()
            elif now - max(since, last) > self.comeback:
                self._stop(f"the device did not come back within {self.comeback:.0f} s for the next case "
                           f"({self.life.summary()})")
        elif mode in ("advertise-pending", "advertise-valid", "advertised", "reply-pending", "bound-pending") \
                and (now - last > self.window() + 1.0 or now - since > max(self.comeback, self.window() + 1.0)):
            # silent; or talking, but never in the case's exchange (held for ever otherwise): once more, then skipped
            self._again(f"it did not go on after our valid {'REPLY' if mode == 'bound-pending' else 'ADVERTISE'}")
        elif mode == "bound" and case is not None and now - since > 1.0 and not self._probing():
            self._reconfigure()
        elif mode == "sent" and case is not None:
            held = self.holds()
            if held and case.phase in ("advertise", "reply"):
                with self.cond:
                    if self.mode == "sent" and self.case is case:
                        took = "REPLY" if case.phase == "reply" else "ADVERTISE as a REPLY, with no REQUEST"
                        self._verdict("accepted", f"it uses the address ({held}): it took the {took}")
                        self.quiet = True
                return
            limit = RECONFIGURE_WITHIN + self.margin if case.phase == "bound" else self.window()
            if case.phase == "reply":
                limit = max(limit, 2.2 + self.margin)   # REQ_TIMEOUT 1 s: a REQUEST again within about 2 s
            if now - last > limit:
                self._silent(case.phase)
        elif mode == "quiet" and now - since > self.quiet_for:
            alive = self._alive()
            with self.cond:
                if self.mode == "quiet" and self.case is not None:
                    waited = now - (self.sent_at or since)
                    self._verdict("accepted" if alive else "dead",
                                  f"quiet for {waited:.1f} s, past T2 of its lease, and the probe "
                                  + ("finds it alive: it took the REPLY" if alive else "failed"))
                    self.quiet = True
            if not alive and self.restart is None:
                self._stop("the device died; restart= would bring it back for the rest")

    def _probing(self) -> bool:
        """Whether the device checks an address it was given (RFC 4862 5.4: DAD, about 1 s)."""
        since = self.since
        return any(s.kind == "ns-dad" and time.monotonic() - s.t < 1.5 for s in self.life.after(since))

    def _measure(self, now: float, since: float, last: float) -> None:
        """Before the first case: the device chosen and its retransmission interval measured
        from two SOLICITs of one exchange; a quiet one (bound) restarted once."""
        limit = max(self.comeback, 70.0)
        if not self.solicits and now - since > 2.0 and self.restart is not None and not self.restarts:
            self._restart("measure")
            return
        if now - since > limit:
            what = "no client SOLICITed twice" if self.target is None else "no SOLICIT came twice from the device"
            self._stop(f"{what} within {limit:.0f} s ({self.life.summary()}): is a DHCPv6 client on the link?")

    def _silent(self, phase: str) -> None:
        """Silence past the window: the probe decides."""
        alive = self._alive()
        with self.cond:
            if self.case is None or self.mode != "sent":
                return
            quiet = f"silent for {time.monotonic() - (self.sent_at or self.since):.1f} s"
            if alive and phase == "bound":
                self._verdict("ignored", f"it ignored the RECONFIGURE: {quiet}, and alive")
            elif alive and phase == "reply":
                self._verdict("accepted", f"it took the REPLY: {quiet} (bound), and alive")
            elif alive:
                self._verdict("rejected", f"it dropped the ADVERTISE: {quiet}, and alive")
            elif phase in ("reply", "bound"):
                self.quiet_for = self._t2() + self.margin
                self._set("quiet")   # bound and quiet, perhaps, with a probe that cannot tell: T2 decides
                return
            else:
                self._verdict("dead", f"{quiet} past its next SOLICIT and the probe failed")
            self.quiet = True
            killed = self.report.killer is not None and self.report.rows[-1] is self.report.killer
        if killed and self.restart is None:
            self._stop("the device died; restart= would bring it back for the rest")

    def _t2(self) -> float:
        return float(self.server.config.times[1])

    def _alive(self) -> bool:
        """The probe: the caller's callable, or a neighbour solicitation for its link-local address."""
        if callable(self.probe):
            try:
                return bool(self.probe())
            except Exception as exc:
                with self.cond:
                    if self.row is not None:
                        self.row.note = f"the probe raised {type(exc).__name__}: {exc}"
                return False
        if self.target is None:
            return False
        ep = self.session.endpoint
        return ep.transport6.neighbour_answers(self.link_local or link_local(self.target), mac=ep.mac_bytes,
                                               src=self.server.address, wait=min(1.0, self.window()))

    def _reconfigure(self) -> None:
        with self.cond:
            if self.row is None or self.target is None or self.mode != "bound":
                return
            self._set("sent")
            self.sent_at = self.since
        try:
            sent = self.server.reconfigure(self.device(), kind="renew", authenticated=False)
        except UsageError as exc:
            sent, why = 0, str(exc)
        else:
            why = "no binding to send it for"
        with self.cond:
            if not sent:
                self._verdict("skipped", f"no RECONFIGURE sent: {why}")
            elif self.row is not None:
                self.row.frames.extend(("hostile", h.raw, h.time) for h in self.server.log[-1:])

    def _restarted(self) -> None:
        """The new process: its SOLICITs start afresh (the lock held)."""
        self.last_solicit, self.gap_before = None, None


def sweep_replies6(session: Any, only: list[str] | str | None = None, *, skip: list[str] | str | None = None,
                   device_mac: str | None = None, probe: Any = "traffic", restart: Callable[[], Any] | None = None,
                   retry: float | None = None, margin: float = 1.0, valid: int = 40, comeback: float | None = None,
                   progress: bool = True, resume: bool = False, **serve_kw: Any) -> ReplyReport:
    """Runs the catalog of hostile DHCPv6 replies (``only`` some, less ``skip``) against the
    DHCPv6 client ``device_mac`` (default: the first that SOLICITs twice); see the module's
    docstring. ``retry``: the client's retransmission interval (measured when not given);
    ``valid``: the lifetime of the leases it gets between cases. Ctrl-C returns the partial
    report; ``resume=True`` runs the cases it did not get to.

    >>> r = sweep_replies6(restart=lab.clients[0].restart, probe=lab.clients[0].alive)
    """
    if not (probe == "traffic" or callable(probe)):
        raise UsageError(f"unknown probe {probe!r}: 'traffic' or a callable")
    if session.server is not None and session.server.running:
        raise UsageError("sweep_replies6() plays the server itself: stop the running one first (srv.stop())")
    chosen = select6(only, skip)
    report = resumed(session, "sweep_replies6", select6(), ReplyReport6) if resume else \
        ReplyReport6(sweep_id=secrets.token_hex(4), remaining=chosen)
    if resume and retry is None:
        retry = report.retry
    valid = max(8, int(valid))
    made: list[ReplySweeper6] = []

    def hook(server: Dhcp6Server) -> None:   # before the server reads a message: none is answered unseen
        made.append(ReplySweeper6(session, server, report, mac=mac_bytes(device_mac) if device_mac else None,
                                  probe=probe, restart=restart, retry=retry, margin=margin,
                                  comeback=comeback if comeback is not None else valid + 40.0))
        server.attach(None, made[0].mutate, made[0].tap)

    server_kw: dict[str, Any] = {"preferred": valid // 2, "valid": valid, "t1": valid // 5, "t2": valid * 2 // 5,
                                 "preference": 255, "restore": False, **serve_kw}
    server = session.serve(macs=[device_mac] if device_mac else None, before_start=hook, **server_kw)
    try:
        made[0].progress = progress
        made[0].run()
    finally:
        server.stop()
        server.detach()
        session.last = report
    return report
