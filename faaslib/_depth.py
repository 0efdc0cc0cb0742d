"""The nesting depth of a JSON payload, bounded before the parser sees it.

pydantic-core's parser refuses JSON nested deeper than :data:`PARSER_DEPTH` levels itself; an
invoker may set a lower bound (``Invoker(max_json_depth=...)``). A payload with no more
brackets than the bound cannot be deeper, which two C-level counts tell, so the depth itself
is measured only for payloads that might be too deep, in C-level passes too.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

from ._errors import InvalidParameterValueException, InvalidRequestContentException

__all__ = ["PARSER_DEPTH", "check_depth", "depth_bound", "json_depth", "loads_within"]

#: How deep pydantic-core's JSON parser nests (its recursion limit).
PARSER_DEPTH = 200

#: JSON strings (whose brackets are text), and everything that is not a bracket.
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = re.compile(rb"[^\[\]{}]+")
#: Opening brackets to 1, closing ones to -1 (as signed bytes).
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def json_depth(data: bytes) -> int:
    """How deep ``data`` (JSON) nests arrays and objects: 0 for a scalar."""
    brackets = _NOT_BRACKETS.sub(b"", _STRINGS.sub(b"", data))
    if not brackets:
        return 0
    return max(0, max(accumulate(array("b", brackets.translate(_STEPS)))))


def check_depth(function_name: str, data: bytes, bound: int) -> None:
    """Refuse a payload nested deeper than ``bound``.

    :raises ~faaslib.InvalidRequestContentException: it nests deeper
    """
    if data.count(b"[") + data.count(b"{") <= bound:
        return
    depth = json_depth(data)
    if depth > bound:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: nested {depth} levels deep, "
            f"over the limit of {bound}",
            function_name=function_name,
        )


def depth_bound(value: object) -> int | None:
    """An invoker's ``max_json_depth``: ``None`` (the parser's own), or 1 to
    :data:`PARSER_DEPTH`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= PARSER_DEPTH:
        raise InvalidParameterValueException(
            f"max_json_depth must be a whole number from 1 to {PARSER_DEPTH} (the JSON "
            f"parser's own limit), got {value!r}"
        )
    return None if value == PARSER_DEPTH else value


def loads_within(text: str | bytes | bytearray, bound: int = PARSER_DEPTH) -> Any:
    """``json.loads(text)``, after checking that it nests at most ``bound`` levels.

    :raises ValueError: not JSON, or nested deeper (never a RecursionError)
    """
    data = text.encode() if isinstance(text, str) else bytes(text)
    if json_depth(data) > bound:
        raise ValueError(f"JSON nested deeper than {bound} levels")
    return json.loads(data)
