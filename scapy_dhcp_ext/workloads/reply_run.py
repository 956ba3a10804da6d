"""What the v4 and v6 reply sweeps share: the row of the case in progress and its verdict, and
the caller's loop that steps the sweep until no case is left, keeps each verdict in the
session's notes as it lands (``resume=True`` after a restart), and stops on Ctrl-C with a
partial report. Each sweep adds its machine (the reader-thread hooks) and its ``_step``."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from ..roles.results4 import progress_bar
from ..state.signals import stop_on_ctrl_c
from .liveness import Liveness
from .reply_report import ReplyReport, ReplyRow


class ReplyRun:
    """The state both sweeps keep, and the moves on it (the lock held where it says)."""

    NOTE = "sweep_replies"   # its name in the session's notes, and on its progress bar
    session: Any
    report: ReplyReport
    cond: threading.Condition
    life: Liveness
    row: ReplyRow | None
    case: Any
    mode: str
    since: float
    sent_at: float | None
    retry: float | None
    progress: bool
    quiet: bool                  # the device needs restart() to come back
    restart: Callable[[], Any] | None
    restarts: int                # restarts in a row with no first message after them
    attempts: dict[str, int]     # the tries of each case that did not get to its hostile reply

    def _step(self) -> None:
        raise NotImplementedError

    def run(self) -> ReplyReport:
        """Steps the sweep until every case has its verdict, it stops, or Ctrl-C."""
        report = self.report
        report.interrupted = False
        bar = progress_bar(self.progress, len(report.rows) + len(report.remaining), self.NOTE, done=len(report.rows))
        start = time.monotonic()

        def stopped() -> None:
            report.interrupted = True

        try:
            with stop_on_ctrl_c(stopped):
                while report.remaining and not report.stopped:
                    done = len(report.rows)
                    self._step()
                    if len(report.rows) > done:
                        self.note()   # each verdict kept as it lands: a killed session resumes after it
                        if bar is not None:
                            bar.update(len(report.rows) - done)
        finally:
            if bar is not None:
                bar.close()
            with self.cond:
                if self.row is not None and report.interrupted:
                    self.row.note = "cut short by Ctrl-C"
                self._set("idle")
            report.elapsed += time.monotonic() - start
            report.retry = self.retry
            self.note()
        return report

    def note(self) -> None:
        """The sweep in the session's notes (saved with its state): the cases
        asked for and each verdict so far, for ``resume=True`` after a restart."""
        r = self.report
        endpoint = self.session.endpoint
        endpoint.notes[self.NOTE] = {
            "id": r.sweep_id, "cases": [x.name for x in r.rows] + [c.name for c in r.remaining],
            "verdicts": {x.name: [x.verdict, x.why] for x in r.rows}, "retry": self.retry,
            "complete": r.complete and not r.stopped}
        endpoint.save()

    def _set(self, mode: str) -> None:
        self.mode, self.since = mode, time.monotonic()

    def _restart(self, mode: str = "wait") -> None:
        """restart(), and the device listened to again only once it returned: until then the old
        process may still send (udhcpc DISCOVERs, dhcp6c REQUESTs while it exits), and a case begun
        on it, or an answer to it, would be judged on the process being stopped."""
        assert self.restart is not None
        with self.cond:
            self.quiet = True   # _restart_due(): nothing it sends now starts a case or is answered
            self.restarts += 1
            self._set("wait")
        try:
            self.restart()
        except Exception as exc:
            self._stop(f"restart() raised {type(exc).__name__}: {exc}")
            return
        with self.cond:
            self.quiet = False
            self._restarted()
            self._set(mode)   # its comeback timed from here

    def _restarted(self) -> None:
        """What the sweep forgets of the process restart() stopped (the lock held)."""

    def _stop(self, why: str) -> None:
        with self.cond:
            self.report.stopped = why
            self._set("idle")

    def _out(self, raw: bytes, hostile: bool = False) -> None:
        if self.row is not None:
            self.row.frames.append(("hostile" if hostile else "out", raw, time.time()))

    def _verdict(self, verdict: str, why: str) -> None:
        """The case's verdict, its ``why`` followed by what the device did meanwhile (the evidence)."""
        row = self.row
        if row is None:
            return
        origin = self.sent_at or self.since
        signs = self.life.after(origin)
        row.verdict, row.why = verdict, why + (f" ({self.life.words(signs, origin)})" if signs else "")
        row.seconds = time.time() - row.started
        self.report.rows.append(row)
        self.report.remaining.pop(0)
        if verdict == "dead" and self.report.killer is None:
            self.report.killer = row
        self.row, self.case = None, None
        self._set("wait")

    def _again(self, why: str) -> None:
        """The case did not get to its hostile reply: once more from a fresh start, then skipped."""
        with self.cond:
            case = self.case
            if case is None or self.mode in ("wait", "idle"):
                return
            self.attempts[case.name] = self.attempts.get(case.name, 0) + 1
            if self.attempts[case.name] >= 2:
                self._verdict("skipped", why + ", twice")
            else:
                self.row, self.case = None, None
                self._set("wait")
            self.quiet = True
