"""The full-screen editor, driven by keys through a pipe: keys in, packet out."""

from __future__ import annotations

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.l2 import Ether

from scapy_dhcp_ext.front.editor import PacketEditor
from scapy_dhcp_ext.wire import DISCOVER
from scapy_dhcp_ext.wire.frames4 import parse_frame
from scapy_dhcp_ext.wire.messages4 import MessageOptions, build_message
from scapy_dhcp_ext.wire.pktools import fields

DOWN, ENTER, ESC, BACKSPACE, CTRL_S, CTRL_Z = "\x1b[B", "\r", "\x1b", "\x7f", "\x13", "\x1a"


@pytest.fixture
def pkt():
    return Ether(build_message(DISCOVER, mac="02:00:00:00:00:01", xid=5, opts=MessageOptions(hostname="a")))


def row(pkt, layer: str, name: str) -> int:
    return next(i for i, r in enumerate(fields(pkt)) if r[:2] == (layer, name))


def run(pkt, keys: str) -> tuple[object, PacketEditor]:
    with create_pipe_input() as inp:
        inp.send_text(keys)
        editor = PacketEditor(pkt, input=inp, output=DummyOutput())
        return editor.run(), editor


def set_value(pkt, layer: str, name: str, text: str) -> str:
    return DOWN * row(pkt, layer, name) + ENTER + BACKSPACE * 40 + text + ENTER


def test_edit_a_field_and_accept(pkt):
    new, _ = run(pkt, set_value(pkt, "BOOTP", "hops", "7") + CTRL_S)
    assert new[BOOTP].hops == 7 and pkt[BOOTP].hops == 0


def test_a_bad_value_is_refused_with_a_message(pkt):
    new, editor = run(pkt, set_value(pkt, "BOOTP", "hops", "abc") + ESC + CTRL_S)
    assert new[BOOTP].hops == 0
    assert editor.undo_stack == []  # nothing was accepted


def test_refusal_keeps_the_edit_line_open(pkt):
    keys = set_value(pkt, "BOOTP", "hops", "abc") + BACKSPACE * 3 + "4" + ENTER + CTRL_S
    new, _ = run(pkt, keys)
    assert new[BOOTP].hops == 4


def test_add_and_delete_dhcp_options(pkt):
    keys = "a" + "vendor_class_id=board-7" + ENTER + DOWN * row(pkt, "DHCP", "hostname") + "d" + CTRL_S
    new, _ = run(pkt, keys)
    opts = parse_frame(bytes(new)).options
    assert opts[60] == b"board-7" and 12 not in opts


def test_undo(pkt):
    new, _ = run(pkt, set_value(pkt, "BOOTP", "hops", "7") + "u" + CTRL_S)
    assert new[BOOTP].hops == 0
    two = set_value(pkt, "BOOTP", "hops", "7") + "k" * 40 + set_value(pkt, "IP", "ttl", "9")
    new, _ = run(pkt, two + CTRL_Z + CTRL_S)
    assert new[BOOTP].hops == 7 and new["IP"].ttl == 128


def test_cancel_returns_none(pkt):
    for key in ("q", ESC, "\x03"):
        new, _ = run(pkt, set_value(pkt, "BOOTP", "hops", "7") + key)
        assert new is None


def test_pin_a_lying_length(pkt):
    new, _ = run(pkt, set_value(pkt, "IP", "len", "999") + CTRL_S)
    assert bytes(new)[16:18] == (999).to_bytes(2, "big")


def test_completion_of_enumerated_values(pkt):
    keys = DOWN * row(pkt, "DHCP", "message-type") + ENTER + BACKSPACE * 10 + "reque" + "\t" + ENTER + CTRL_S
    new, _ = run(pkt, keys)
    assert parse_frame(bytes(new)).message_type == 3
    assert new[DHCP].options[0][0] == "message-type"
    cycled = DOWN * row(pkt, "DHCP", "hostname") + ENTER + BACKSPACE * 10 + "reque" + "\t\t" + ENTER + CTRL_S
    new, editor = run(pkt, cycled)
    assert parse_frame(bytes(new)).options[12] == b"requested_addr"
