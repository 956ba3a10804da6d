"""A full-screen packet editor on prompt_toolkit: every field on its own line.

Keys: Up/Down (or k/j) move; Enter edits the value under the cursor (Tab
completes field values, enumerated names and DHCP option names; a value that
does not fit is refused with a message); ``a`` adds a DHCP option
(``name=value``); ``d`` deletes the DHCP option under the cursor; ``u`` or
Ctrl-Z undoes; Ctrl-S (or F10) accepts; Esc, ``q`` or Ctrl-C cancels.
Lengths and checksums (IP.len, IP.chksum, UDP.len, UDP.chksum) show ``auto``
until you set them: then they are pinned and go out as set; ``auto`` unpins.

Usage::

    new = edit_packet(pkt)          # None when cancelled; pkt itself is untouched

``input=`` and ``output=`` are prompt_toolkit's, so tests drive it with
``create_pipe_input()`` and ``DummyOutput()``.
"""

from __future__ import annotations

from typing import Any

from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.data_structures import Point
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.containers import ConditionalContainer
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
from prompt_toolkit.styles import Style

from ..wire import MESSAGE_TYPES, mac_str
from ..wire.pkedit import apply, copy_for_edit, parse_value
from ..wire.pktools import EditError, fields, pins

HELP = " Enter edit  a add option  d delete option  u undo  Ctrl-S accept  Esc/q cancel "
STYLE = Style.from_dict({"cursor": "reverse", "title": "bold", "pinned": "ansiyellow",
                         "error": "ansired bold", "help": "reverse", "layer": "ansicyan"})


def value_text(value: Any) -> str:
    """A value as the user would type it back (``parse_value`` reads it)."""
    if value is None:
        return "auto"
    if isinstance(value, bytes):
        printable = all(32 <= b < 127 for b in value)
        return repr(value) if printable and value else "hex:" + value.hex()
    if isinstance(value, str):
        return value if parse_value(value) == value else repr(value)
    return repr(value) if isinstance(value, (list, tuple)) else str(value)


def display_text(row: tuple[str, str, Any]) -> str:
    """Like value_text, with xid in hex and chaddr as a MAC when it is one."""
    layer, name, value = row
    if layer == "BOOTP" and name == "xid" and isinstance(value, int):
        return f"{value:#010x}"
    if layer == "BOOTP" and name == "chaddr" and isinstance(value, bytes) and not value[6:].strip(b"\0"):
        return mac_str(value)
    if isinstance(value, bytes) and value and not value.strip(b"\0"):
        return "b''"  # a fixed field of zeros (sname, file): Scapy pads b'' to the same bytes
    return value_text(value)


def _completions(pkt: Any) -> list[str]:
    from scapy.layers.dhcp import DHCPRevOptions

    words = set(DHCPRevOptions) | {t.lower() for t in MESSAGE_TYPES.values()} | {"auto"}
    layer = pkt
    while layer is not None and layer.__class__.__name__ != "NoPayload":
        for f in getattr(layer, "fields_desc", []):
            enum = getattr(getattr(f, "fld", f), "i2s", None)
            if isinstance(enum, dict):
                words |= {str(v) for v in enum.values()}
        layer = layer.payload if layer.payload else None
    return sorted(words)


class PacketEditor:
    """The editor's state: a working copy, the cursor, the undo stack."""

    def __init__(self, pkt: Any, *, input: Any = None, output: Any = None) -> None:
        self.pkt = copy_for_edit(pkt)
        self.undo_stack: list[Any] = []
        self.cursor = 0
        self.message: tuple[str, str] = ("", "")
        self.mode: str | None = None       # None, "edit" or "add"
        self._cursor_line = 0
        self.accepted = False
        self.words = _completions(self.pkt)
        self.buffer = Buffer(multiline=False)
        self._choices: list[str] = []
        self._choice = 0
        self.app: Application[Any] = Application(layout=self._layout(), key_bindings=self._keys(),
                                                 style=STYLE, full_screen=True, input=input, output=output)

    # -- model ---------------------------------------------------------------

    @property
    def rows(self) -> list[tuple[str, str, Any]]:
        return fields(self.pkt)

    def _row_key(self, row: tuple[str, str, Any]) -> str:
        return f"{row[0]}.{row[1]}"

    def _snapshot(self) -> Any:
        return copy_for_edit(self.pkt)

    def assign(self, assignment: str) -> bool:
        """Applies one assignment to the working copy; False (and a message) if refused."""
        before = self._snapshot()
        try:
            apply(self.pkt, assignment)
        except EditError as exc:
            self.pkt = before
            self.message = ("error", str(exc))
            return False
        self.undo_stack.append(before)
        self.message = ("", f"set {assignment}")
        self.cursor = min(self.cursor, len(self.rows) - 1)
        return True

    def complete(self) -> None:
        """Tab: the first match for the word before the cursor; Tab again cycles."""
        text = self.buffer.text
        start = max(text.rfind("=", 0, self.buffer.cursor_position) + 1, 0)
        word = text[start:self.buffer.cursor_position]
        if self._choices and word in self._choices:
            self._choice = (self._choice + 1) % len(self._choices)
        else:
            self._choices = [w for w in self.words if w.startswith(word)]
            self._choice = 0
        if not self._choices:
            self.message = ("error", f"nothing starts with {word!r}")
            return
        choice = self._choices[self._choice]
        self.buffer.text = text[:start] + choice
        self.buffer.cursor_position = len(self.buffer.text)
        if len(self._choices) > 1:
            self.message = ("", "Tab for more: " + " ".join(self._choices[:12]))

    def undo(self) -> None:
        if self.undo_stack:
            self.pkt = self.undo_stack.pop()
            self.message = ("", "undone")
            self.cursor = min(self.cursor, len(self.rows) - 1)
        else:
            self.message = ("error", "nothing to undo")

    # -- view ----------------------------------------------------------------

    def _lines(self) -> StyleAndTextTuples:
        pinned = pins(self.pkt)
        out: StyleAndTextTuples = [("class:title", f" {self.pkt.summary()}\n")]
        previous = ""
        self._cursor_line = 0
        for i, row in enumerate(self.rows):
            if row[0] != previous:
                out.append(("class:layer", f"{row[0]}\n"))
                previous = row[0]
            key = self._row_key(row)
            if i == self.cursor:
                self._cursor_line = sum(text.count("\n") for _style, text, *_ in out)
            style = "class:cursor" if i == self.cursor else ("class:pinned" if key in pinned else "")
            mark = " (pinned)" if key in pinned else ""
            out.append((style, f"  {row[1]:22} {display_text(row)}{mark}\n"))
        return out

    def _layout(self) -> Layout:
        editing = Condition(lambda: self.mode is not None)
        prompt = Window(FormattedTextControl(lambda: [("class:title", self._prompt_text())]),
                        height=1, dont_extend_width=True)
        edit_line = ConditionalContainer(HSplit([prompt, Window(BufferControl(self.buffer), height=1)]),
                                         filter=editing)
        body = Window(FormattedTextControl(self._lines, focusable=True, show_cursor=False,
                                           get_cursor_position=lambda: Point(0, self._cursor_line)),
                      wrap_lines=False)
        message = Window(FormattedTextControl(lambda: [(f"class:{self.message[0]}" if self.message[0] else "",
                                                        self.message[1])]), height=1)
        helpline = Window(FormattedTextControl([("class:help", HELP)]), height=1)
        return Layout(HSplit([body, edit_line, message, helpline]))

    def _prompt_text(self) -> str:
        if self.mode == "add":
            return "add DHCP option (name=value): "
        row = self.rows[self.cursor]
        return f"{self._row_key(row)} = "

    # -- keys ----------------------------------------------------------------

    def _keys(self) -> KeyBindings:
        kb = KeyBindings()
        browsing = Condition(lambda: self.mode is None)
        editing = Condition(lambda: self.mode is not None)

        @kb.add("up", filter=browsing)
        @kb.add("k", filter=browsing)
        def _up(event: Any) -> None:
            self.cursor = max(0, self.cursor - 1)

        @kb.add("down", filter=browsing)
        @kb.add("j", filter=browsing)
        def _down(event: Any) -> None:
            self.cursor = min(len(self.rows) - 1, self.cursor + 1)

        @kb.add("enter", filter=browsing)
        @kb.add("e", filter=browsing)
        def _edit(event: Any) -> None:
            self.mode = "edit"
            self._choices = []
            self.buffer.text = display_text(self.rows[self.cursor])
            self.buffer.cursor_position = len(self.buffer.text)
            event.app.layout.focus(self.buffer)

        @kb.add("a", filter=browsing)
        def _add(event: Any) -> None:
            self.mode = "add"
            self.buffer.text = ""
            event.app.layout.focus(self.buffer)

        @kb.add("d", filter=browsing)
        def _delete(event: Any) -> None:
            layer, name, _ = self.rows[self.cursor]
            if layer != "DHCP" or name.startswith("malformed#"):
                self.message = ("error", "only DHCP options can be deleted")
                return
            self.assign(f"-DHCP.{name}")

        @kb.add("u", filter=browsing)
        @kb.add("c-z")
        def _undo(event: Any) -> None:
            self.undo()

        @kb.add("enter", filter=editing)
        def _commit(event: Any) -> None:
            text = self.buffer.text
            if self.mode == "add":
                name, sep, value = text.partition("=")
                assignment = f"DHCP.{name.strip()}={value}" if sep else ""
                if not assignment:
                    self.message = ("error", "write name=value, e.g. hostname=probe or 224=hex:0102")
                    return
            else:
                assignment = f"{self._row_key(self.rows[self.cursor])}={text}"
            if self.assign(assignment):
                self.mode = None
                event.app.layout.focus_previous()

        @kb.add("tab", filter=editing)
        def _complete(event: Any) -> None:
            self.complete()

        @kb.add("escape", filter=editing, eager=True)
        def _stop_editing(event: Any) -> None:
            self.mode = None
            self.message = ("", "edit cancelled")
            event.app.layout.focus_previous()

        @kb.add("c-s")
        @kb.add("f10")
        def _accept(event: Any) -> None:
            self.accepted = True
            event.app.exit()

        @kb.add("escape", filter=browsing, eager=True)
        @kb.add("q", filter=browsing)
        @kb.add("c-c")
        def _cancel(event: Any) -> None:
            event.app.exit()

        return kb

    def run(self) -> Any:
        self.app.run()
        return self.pkt if self.accepted else None


def edit_packet(pkt: Any, *, input: Any = None, output: Any = None) -> Any:
    """Opens the editor on a copy of ``pkt``; returns the edited copy, or None if cancelled."""
    return PacketEditor(pkt, input=input, output=output).run()
