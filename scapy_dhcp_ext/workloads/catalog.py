"""One way to choose catalog entries, for every catalog (checks, hostile replies,
malformed cases, v4 and v6): ``only=`` names the entries to run (all by default),
``skip=`` the ones to leave out, in the catalog's order; an unknown name is a
usage error that lists the known ones."""

from __future__ import annotations

from typing import Callable, Iterable, Sequence, TypeVar

from ..errors import UsageError

E = TypeVar("E")


def names(value: Iterable[str] | str | None) -> list[str]:
    """A name or names as a list (one name may be given as text)."""
    return [value] if isinstance(value, str) else list(value or [])


def choose(entries: Sequence[E], only: Iterable[str] | str | None, skip: Iterable[str] | str | None,
           key: Callable[[E], str], what: str = "entry") -> list[E]:
    """The entries ``only`` names (all when None), less those ``skip`` names."""
    known = {key(e) for e in entries}
    unknown = [n for n in names(only) + names(skip) if n not in known]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
    wanted = set(names(only)) if only is not None else known
    left_out = set(names(skip))
    return [e for e in entries if key(e) in wanted and key(e) not in left_out]
