"""The packet magics: ``%pkt_dump``, ``%pkt_edit``, ``%pkt_send``, over the session's
:class:`~.helpers.PacketTools` (the shell's ``pkt_*`` helpers are the same tools)::

    In [1]: %dhcp_discover
    In [2]: %pkt_edit BOOTP.hops=3 DHCP.hostname=probe     # a copy of the DISCOVER
    In [3]: %pkt_send                                       # sends the edited copy
    In [4]: %pkt_dump --diff                                # the two OFFERs, field by field
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..wire.pktools import fields
from .helpers import PacketTools
from .magic_words import answers_help, evaluate, parse_words, usage_errors


@magics_class
class PacketMagics(Magics):
    """The ``%pkt_*`` magics."""

    def __init__(self, shell: Any, tools: PacketTools) -> None:
        super().__init__(shell)
        self.tools = tools

    def _eval(self, expr: str | None) -> Any:
        return evaluate(self.shell, expr)

    @magic_arguments()
    @argument("pkt", nargs="?", help="a packet, result or list (an expression); default: the last frame")
    @argument("--show", dest="view", action="store_const", const="show", help="Scapy's show()")
    @argument("--hex", dest="view", action="store_const", const="hex", help="hex dump")
    @argument("--summary", dest="view", action="store_const", const="summary", help="one line per packet")
    @argument("--raw", dest="view", action="store_const", const="raw", help="the bytes")
    @argument("--ls", dest="view", action="store_const", const="ls", help="every field, one per line")
    @argument("--diff", nargs="?", const="", metavar="OTHER",
              help="field by field against OTHER; alone: the last two replies received")
    @argument("--pcap", metavar="FILE", help="write a capture (default: the whole history)")
    @line_magic
    @answers_help
    def pkt_dump(self, line: str = "") -> Any:
        """Dump packets: compact by default (one line per layer, DHCP options decoded)."""
        args = parse_words(self.pkt_dump, line)
        pkt = self._eval(args.pkt)
        with usage_errors():
            return self.tools.pkt_dump(pkt, args.view or "compact", diff_with=self._eval(args.diff),
                                       diff_last=args.diff == "", pcap=args.pcap)

    @magic_arguments()
    @argument("words", nargs="*", help="[PKT] Layer.field=VALUE ... (-DHCP.option removes an option)")
    @line_magic
    @answers_help
    def pkt_edit(self, line: str = "") -> Any:
        """Edit a copy of a packet (default: the last sent): with assignments, no
        screen; without, the full-screen editor (in Jupyter: a prefilled cell)."""
        try:   # not argparse's: "-DHCP.param_req_list" is a word here, not an option
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"bad arguments: {line!r} ({exc}); see %pkt_edit?") from None
        expr = words[0] if words and "=" not in words[0] and not words[0].startswith("-") else None
        assignments = words[1:] if expr else words
        pkt = self._eval(expr)
        if not assignments and self.tools.editor is None:
            return self._prefill_edit(expr, pkt)
        with usage_errors():
            return self.tools.pkt_edit(pkt, *assignments)

    def _prefill_edit(self, expr: str | None, pkt: Any) -> None:
        """No terminal (Jupyter): a new cell holding every editable field."""
        with usage_errors():
            target = self.tools.default_packet(pkt, "sent")
        from .editor import display_text

        def word(row: tuple[str, str, Any]) -> str:
            value = row[2]  # words that need no quoting: IPython's splitter keeps quotes
            if isinstance(value, (list, tuple)):
                text = "[" + ",".join(str(v) for v in value) + "]"
            elif isinstance(value, (bytes, str)) and not (row[1] == "chaddr" and ":" in display_text(row)):
                raw = value if isinstance(value, bytes) else value.encode()
                text = display_text(row) if raw.isalnum() and isinstance(value, str) else "hex:" + raw.hex()
            else:
                text = display_text(row)
            return f"{row[0]}.{row[1]}={text}"

        words = [word(row) for row in fields(target)
                 if row[0] in ("BOOTP", "DHCP") and row[1] not in ("options", "sname", "file")
                 and not row[1].startswith("malformed#")]
        cell = "%pkt_edit " + (expr + " " if expr else "") + " ".join(words)
        assert self.shell is not None
        self.shell.set_next_input(cell)
        print("No terminal for the editor here: change the values in the new cell and run it.")

    @magic_arguments()
    @argument("pkt", nargs="?", help="a packet or bytes (an expression); default: the last edited, else last sent")
    @argument("--count", "-n", type=int, default=1, help="how many copies to send")
    @argument("--timeout", "--wait", "-t", "-w", dest="timeout", type=float, help="seconds to wait for replies")
    @line_magic
    @answers_help
    def pkt_send(self, line: str = "") -> Any:
        """Send a packet through the session's socket and collect its replies."""
        args = parse_words(self.pkt_send, line)
        pkt = self._eval(args.pkt)
        with usage_errors():
            return self.tools.pkt_send(pkt, count=args.count, timeout=args.timeout)
