"""IPython as at the prompt, for the tests that type magics."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def prompt(session: Any, **names: Any) -> Iterator[Any]:
    """A fresh IPython shell with the extension loaded over ``session`` (as ``dhcp``) and
    ``names`` in its namespace; unloaded and cleared after. Set ``XDG_STATE_HOME`` first."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance()
    ip.user_ns.update(dhcp=session, **names)
    ip.run_line_magic("load_ext", "scapy_dhcp_ext")
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "scapy_dhcp_ext")
        InteractiveShell.clear_instance()
