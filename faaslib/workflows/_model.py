"""A checked definition: what the interpreter runs (:func:`._definition.parse_definition`
makes it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Definition"]


@dataclass(frozen=True)
class Definition:
    """A checked state machine (or a Parallel branch, or a Map's item processor).

    :ivar start_at: the first state's name
    :ivar states: each state's dict, as given
    :ivar timeout_seconds: the machine's ``TimeoutSeconds`` (``None`` in branches)
    :ivar comment: the ``Comment``
    :ivar branches: for each Parallel state its branches, for each Map state its one
        ``ItemProcessor`` (or ``Iterator``), parsed
    :ivar source: the whole definition as given
    """

    start_at: str
    states: Mapping[str, Mapping[str, Any]]
    timeout_seconds: int | None
    comment: str | None
    branches: Mapping[str, tuple[Definition, ...]]
    source: Mapping[str, Any]
