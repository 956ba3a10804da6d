"""What every magic shares: its words parsed, a user's mistake as IPython's
``UsageError`` with what to type, the option flags as the helpers' keywords, and
the report files a workload magic writes."""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, parse_argstring

from .. import errors
from ..wire import parse_value


def message_options(args: Any) -> dict[str, Any]:
    """The helpers' keywords from parsed magic arguments (only those given)."""
    kw: dict[str, Any] = {}
    for name in ("hostname", "client_id", "vendor_class", "lease_time", "giaddr", "circuit_id",
                 "remote_id", "timeout"):
        value = getattr(args, name, None)
        if value is not None:
            kw[name] = value
    if getattr(args, "broadcast", False):
        kw["broadcast"] = True
    if getattr(args, "prl", None) is not None:
        try:
            kw["param_req_list"] = [int(x, 0) for x in args.prl.split(",") if x]
        except ValueError:
            raise UsageError("--prl takes option numbers separated by commas, e.g. --prl 1,3,6") from None
    extra = option_items(getattr(args, "option", None), "hostname=probe or --option 224=hex:0102")
    if extra:
        kw["options"] = extra
    return kw


def option_items(items: list[str] | None, example: str) -> list[tuple[int | str, Any]]:
    """``--option KEY=VALUE`` words as (name or code, value) pairs; a mistake is a UsageError."""
    extra: list[tuple[int | str, Any]] = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--option takes KEY=VALUE, e.g. --option {example}, not {item!r}")
        try:
            extra.append((int(key) if key.isdigit() else key, parse_value(value)))
        except ValueError as exc:
            raise UsageError(f"--option {item}: {exc}") from None
    return extra


def parse_words(func: Callable[..., Any], line: str) -> Any:
    """A magic's words parsed by its ``@argument``s; bad words are a UsageError that names the help."""
    try:
        return parse_argstring(func, line)
    except UsageError:
        raise
    except SystemExit:  # argparse's way of saying "bad words"
        raise UsageError(f"bad arguments: {line!r}; see %{func.__name__}?") from None


def answers_help(func: Callable[..., Any]) -> Callable[..., Any]:
    """``%dhcp_load --help`` (or ``-h``) prints what ``%dhcp_load?`` shows, as people type it."""
    @functools.wraps(func)
    def wrapper(self: Any, line: str = "") -> Any:
        if {"-h", "--help"} & set(line.split()):
            print(wrapper.__doc__)
            return None
        return func(self, line)
    return wrapper


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """A user's mistake, however the engine said it, becomes IPython's UsageError."""
    try:
        yield
    except (errors.UsageError, TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def common_args(func: Callable[..., Any]) -> Callable[..., Any]:
    """The arguments every operation magic takes."""
    for arg in reversed([
        argument("--iface", "-i", help="interface to use (switches the session to it)"),
        argument("--timeout", "-t", type=float, help="seconds to wait for a reply"),
        argument("--hostname", help="option 12, host name"),
        argument("--client-id", dest="client_id", help="option 61, client identifier (text)"),
        argument("--vendor-class", dest="vendor_class", help="option 60, vendor class identifier"),
        argument("--prl", help="option 55, parameter request list: numbers with commas, e.g. 1,3,6"),
        argument("--lease-time", dest="lease_time", type=int, help="option 51, requested lease time (s)"),
        argument("--broadcast", "-b", action="store_true", help="set the BOOTP broadcast flag"),
        argument("--giaddr", help="relay mode: send as a relay agent with this giaddr"),
        argument("--circuit-id", dest="circuit_id", help="relay mode: option 82 circuit-id"),
        argument("--remote-id", dest="remote_id", help="relay mode: option 82 remote-id"),
        argument("--option", "-o", action="append",
                 help="any option, KEY=VALUE; KEY a name or number; VALUE text, a number, or hex:0102"),
    ]):
        func = arg(func)
    return func


def output_args(func: Callable[..., Any]) -> Callable[..., Any]:
    """The report files a workload magic writes: --json, --junit, --pcap, --plot, --html."""
    for arg in reversed([
        argument("--json", metavar="FILE", help="write the report as JSON"),
        argument("--junit", metavar="FILE", help="write JUnit XML, one testcase per row"),
        argument("--pcap", metavar="FILE", help="write every frame as pcapng, each commented with its row and verdict"),
        argument("--plot", metavar="FILE", help="save the plot (needs matplotlib)"),
        argument("--html", metavar="FILE", help="write one self-contained HTML file: table, plot, frames"),
    ]):
        func = arg(func)
    return func


def write_outputs(args: Any, report: Any) -> None:
    """Writes the files asked for, with the report's writers (each returns the path it wrote)."""
    for path, write in ((args.json, report.to_json), (args.junit, report.to_junit), (args.pcap, report.to_pcap),
                        (args.plot, report.plot), (args.html, report.to_html)):
        if path:
            print(f"wrote {write(path)}")


def run_sweep(role: Any, args: Any, *, base: Any = None, **extra: Any) -> Any:
    """What ``%dhcp_sweep`` and ``%dhcp6_sweep`` do on their role (``dhcp`` or ``dhcp.v6``): the
    malformed catalog (``--malformed [NAMES]``) or the lengths, then the report files asked for."""
    from ..workloads.cases4 import parse_ranges

    common = dict(probe=None if args.probe == "none" else args.probe, timeout=args.timeout,
                  progress=args.progress, resume=args.resume, **extra)
    with usage_errors():
        if args.malformed is not None:
            report = role.sweep_malformed([n for n in args.malformed.split(",") if n] or None, **common)
        else:
            lengths = parse_ranges(args.lengths) if args.lengths else None
            report = role.sweep_lengths(lengths, base=base, headers=args.headers, lies=args.lies, **common)
        write_outputs(args, report)
    return report


def evaluate(shell: Any, expr: str | None) -> Any:
    """An expression a magic takes (``--restart lab.clients[0].restart``), in the user's namespace."""
    if not expr:
        return None
    try:
        return shell.ev(expr)
    except Exception as exc:
        raise UsageError(f"cannot evaluate {expr!r}: {type(exc).__name__}: {exc}") from None
