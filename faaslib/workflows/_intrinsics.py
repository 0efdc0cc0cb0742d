"""The intrinsic functions of the States Language: ``States.Format('{}', $.name)`` in a ``.$``
field of a payload template.

A call is parsed once (and cached) into literals, paths and nested calls; :func:`check_intrinsic`
says what is wrong with a malformed one, :func:`evaluate_intrinsic` computes its value, failing
with ``States.IntrinsicFailure`` when an argument does not fit the function. String literals are
single-quoted, with ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` the only escapes (an escaped brace is
never a ``States.Format`` placeholder); non-integers given where AWS wants integers are rounded
half up, as Java's ``Math.round``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .._depth import PARSER_DEPTH, json_depth
from ._failure import INTRINSIC_FAILURE, StatesFailure
from ._paths import check_path, read_path

__all__ = ["check_intrinsic", "evaluate_intrinsic"]

#: The most calls one field may hold, the outermost one included.
MAX_CALLS = 10
#: The most items ``States.ArrayRange`` makes, and the longest text the text functions take.
MAX_RANGE = 1000
MAX_TEXT = 10_000
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384",
           "SHA-512": "sha512"}  # fmt: skip
_ESCAPES = frozenset("'{}\\")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"States\.([A-Za-z0-9]+)")
_WORD = re.compile(r"[A-Za-z0-9_.$]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_random = random.Random()


class _Malformed(ValueError):
    """The text is not a well-formed intrinsic call; the message says why."""


@dataclass(frozen=True)
class _Literal:
    """A string, number, boolean or null written in the call; ``pieces`` is a string's text
    split at its unescaped ``{}`` (what ``States.Format`` fills in)."""

    value: Any
    pieces: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Path:
    """A path argument: ``$...`` reads the state's input, ``$$...`` the context object."""

    path: str


@dataclass(frozen=True)
class _Call:
    """A call of the intrinsic function ``name`` (``States.Format``)."""

    name: str
    args: tuple[_Literal | _Path | _Call, ...]


def _walk(call: _Call) -> Iterator[_Literal | _Path | _Call]:
    """The call and everything in it, depth first."""
    yield call
    for arg in call.args:
        yield from _walk(arg) if isinstance(arg, _Call) else (arg,)


def check_intrinsic(text: str) -> str | None:
    """``None`` when ``text`` is a well-formed call of a known intrinsic function with as many
    arguments as it takes (paths valid, at most 10 calls), else what is wrong with it."""
    try:
        nodes = list(_walk(_parse(text)))
    except _Malformed as malformed:
        return str(malformed)
    calls = sum(isinstance(node, _Call) for node in nodes)
    if calls > MAX_CALLS:
        return f"{text!r} nests {calls} intrinsic functions; a field holds at most {MAX_CALLS}"
    for node in nodes:
        if isinstance(node, _Path):
            problem = check_path(node.path)
            if problem is not None:
                return f"the argument {node.path!r} of {text!r}: {problem}"
    return None


def evaluate_intrinsic(text: str, data: Any, context: Any) -> Any:
    """The value of the intrinsic call ``text`` on the state's input ``data`` and the
    ``context`` object; ``StatesFailure("States.IntrinsicFailure", ...)`` when it fails."""
    try:
        call = _parse(text)
    except _Malformed as malformed:
        raise StatesFailure(INTRINSIC_FAILURE, str(malformed)) from None
    return _run(call, data, context)


def _run(call: _Call, data: Any, context: Any) -> Any:
    args = [_value(arg, data, context) for arg in call.args]
    first = call.args[0] if call.args else None
    if call.name == "States.Format" and isinstance(first, _Literal) and first.pieces:
        args[0] = first.pieces  # a literal template: its escaped braces are no placeholders
    return _FUNCTIONS[call.name][2](call.name, args)


def _value(arg: _Literal | _Path | _Call, data: Any, context: Any) -> Any:
    if isinstance(arg, _Literal):
        return arg.value
    if isinstance(arg, _Call):
        return _run(arg, data, context)
    return read_path(arg.path, data, context, field="Parameters")


# -- the parser ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> _Call:
    """The call ``text`` is; :class:`_Malformed` when it is none."""
    parser = _Parser(text)
    parser.blank()
    call = parser.call()
    parser.blank()
    if parser.pos < len(text):
        raise _Malformed(f"unexpected {text[parser.pos :]!r} after the call in {text!r}")
    return call


class _Parser:
    """A recursive-descent reader of one intrinsic call."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> _Malformed:
        return _Malformed(f"{what} at position {self.pos} of {self.text!r}")

    def blank(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def call(self) -> _Call:
        found = _NAME.match(self.text, self.pos)
        if found is None:
            raise self.fail("expected an intrinsic function call such as States.Format(...)")
        name = found.group(0)
        if name not in _FUNCTIONS:
            raise self.fail(f"unknown intrinsic function {name}")
        self.pos = found.end()
        self.blank()
        if not self.text.startswith("(", self.pos):
            raise self.fail(f"expected '(' after {name}")
        self.pos += 1
        args = self.arguments(name)
        low, high, _ = _FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            if high is None:
                takes = f"at least {low}"
            else:
                takes = f"{low}" if low == high else f"{low} or {high}"
            raise _Malformed(f"{name} takes {takes} argument(s), not {len(args)}, in {self.text!r}")
        return _Call(name, tuple(args))

    def arguments(self, name: str) -> list[_Literal | _Path | _Call]:
        args: list[_Literal | _Path | _Call] = []
        self.blank()
        if self.text.startswith(")", self.pos):
            self.pos += 1
            return args
        while True:
            self.blank()
            args.append(self.argument())
            self.blank()
            if self.pos >= len(self.text):
                raise self.fail(f"missing ')' closing {name}(")
            mark = self.text[self.pos]
            self.pos += 1
            if mark == ")":
                return args
            if mark != ",":
                self.pos -= 1
                raise self.fail(f"expected ',' or ')' in the arguments of {name}")

    def argument(self) -> _Literal | _Path | _Call:
        rest = self.text[self.pos :]
        if not rest or rest[0] in ",)":
            raise self.fail("expected an argument")
        if rest.startswith("'"):
            return self.string()
        if rest.startswith("$"):
            return _Path(self.path())
        if rest.startswith("States."):
            return self.call()
        number = _NUMBER.match(self.text, self.pos)
        if number is not None and number.end() > self.pos:
            self.pos = number.end()
            self.delimited()
            is_float = number.group(1) or number.group(2)
            return _Literal(float(number.group(0)) if is_float else int(number.group(0)))
        word = _WORD.match(self.text, self.pos)
        keyword = word.group(0) if word else self.text[self.pos : self.pos + 1]
        if keyword in ("true", "false", "null"):
            self.pos += len(keyword)
            return _Literal({"true": True, "false": False, "null": None}[keyword])
        raise self.fail(f"unexpected {keyword!r} (a string argument is written in single quotes)")

    def delimited(self) -> None:
        """A literal ends at a blank, ``,`` or ``)``."""
        if self.pos < len(self.text) and self.text[self.pos] not in " \t\r\n,)":
            raise self.fail(f"unexpected {self.text[self.pos]!r}")

    def string(self) -> _Literal:
        self.pos += 1
        pieces: list[str] = []
        piece: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "'":
                self.pos += 1
                pieces.append("".join(piece))
                return _Literal("{}".join(pieces), tuple(pieces))
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if not escaped or escaped not in _ESCAPES:
                    raise self.fail("an open escape backslash (only \\' \\{ \\} \\\\ escape)")
                piece.append(escaped)
                self.pos += 2
            elif self.text.startswith("{}", self.pos):
                pieces.append("".join(piece))
                piece = []
                self.pos += 2
            else:
                piece.append(char)
                self.pos += 1
        raise _Malformed(f"unterminated string (a missing closing quote) in {self.text!r}")

    def path(self) -> str:
        """A path runs to a blank, ``,`` or ``)`` outside its brackets and quotes."""
        start, depth, quote = self.pos, 0, ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                quote = "" if char == quote else quote
            elif depth and char in "'\"":
                quote = char
            elif char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
            elif not depth and char in " \t\r\n,)":
                break
            self.pos += 1
        if depth or quote:
            raise _Malformed(f"unbalanced brackets or quotes in the path in {self.text!r}")
        return self.text[start : self.pos]


# -- the functions ------------------------------------------------------------------------------


def _fail(name: str, why: str) -> StatesFailure:
    return StatesFailure(INTRINSIC_FAILURE, f"Invalid arguments in {name}: {why}")


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:200]


def _array(name: str, value: Any, which: str = "first") -> list[Any]:
    if not isinstance(value, list):
        raise _fail(name, f"the {which} argument must be an array, not {_show(value)}")
    return value


def _text(name: str, value: Any, which: str = "first", limit: int | None = None) -> str:
    if not isinstance(value, str):
        raise _fail(name, f"the {which} argument must be a string, not {_show(value)}")
    if limit is not None and len(value) > limit:
        raise _fail(name, f"the {which} argument has {len(value)} characters; at most {limit}")
    return value


def _integer(name: str, value: Any, which: str) -> int:
    """A number rounded half up to an integer (Java's ``Math.round``), as AWS takes them."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(name, f"the {which} argument must be a number, not {_show(value)}")
    if isinstance(value, int):
        return value
    floor = math.floor(value)
    return floor + 1 if value - floor >= 0.5 else floor


def _key(value: Any) -> str:
    """A JSON value's identity: objects equal whatever their key order, 1 unlike 1.0 or true."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _base64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _render(value: Any) -> str:
    """How ``States.Format`` writes a value: strings bare, objects as ``{a=1, b=[x, y]}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(map(_render, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_render(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)


def _format(name: str, args: list[Any]) -> str:
    """The template (its pieces when written as a literal) with each ``{}`` filled in."""
    template, values = args[0], args[1:]
    pieces = template if isinstance(template, tuple) else _text(name, template).split("{}")
    if len(pieces) - 1 != len(values):
        holes = len(pieces) - 1
        raise _fail(name, f"the template has {holes} placeholder(s) for {len(values)} value(s)")
    out = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        out += [_render(value), piece]
    return "".join(out)


def _string_to_json(name: str, args: list[Any]) -> Any:
    text = _text(name, args[0])

    def reject(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        if json_depth(text.encode()) > PARSER_DEPTH:
            raise ValueError(f"nested deeper than {PARSER_DEPTH} levels")
        return json.loads(text, parse_constant=reject)
    except ValueError as exc:
        raise _fail(name, f"{_show(text)} is not JSON text ({exc})") from None


def _partition(name: str, args: list[Any]) -> list[list[Any]]:
    items = _array(name, args[0])
    size = _integer(name, args[1], "second")
    if size <= 0:
        raise _fail(name, f"the chunk size must be a positive integer, not {size}")
    return [items[start : start + size] for start in range(0, len(items), size)]


def _contains(name: str, args: list[Any]) -> bool:
    wanted = _key(args[1])
    return any(_key(item) == wanted for item in _array(name, args[0]))


def _range(name: str, args: list[Any]) -> list[int]:
    start, end, step = (
        _integer(name, arg, which) for arg, which in zip(args, _ORDINALS, strict=True)
    )
    if step == 0:
        raise _fail(name, "the step (third argument) must not be 0")
    count = max(0, (end - start) // step + 1)
    if count > MAX_RANGE:
        raise _fail(name, f"the array would have {count} items; at most {MAX_RANGE}")
    return list(range(start, end + (1 if step > 0 else -1), step))


def _get_item(name: str, args: list[Any]) -> Any:
    items = _array(name, args[0])
    index = args[1]
    if isinstance(index, float) and index.is_integer():
        index = int(index)
    if isinstance(index, bool) or not isinstance(index, int):
        raise _fail(name, f"the index must be an integer, not {_show(index)}")
    if not 0 <= index < len(items):
        raise _fail(name, f"the index {index} is out of bounds of an array of {len(items)} items")
    return items[index]


def _unique(name: str, args: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in _array(name, args[0]):
        seen.setdefault(_key(item), item)
    return list(seen.values())


def _base64_decode(name: str, args: list[Any]) -> str:
    text = re.sub(r"[\r\n]", "", _text(name, args[0], limit=MAX_TEXT))
    if _BASE64.fullmatch(text) is None or len(text.rstrip("=")) % 4 == 1:
        raise _fail(name, f"{_show(text)} is not Base64 text")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _fail(name, f"{_show(text)} does not decode to UTF-8 text") from None


def _hash(name: str, args: list[Any]) -> str:
    text = _text(name, args[0], limit=MAX_TEXT)
    algorithm = args[1]
    if algorithm not in _HASHES:
        raise _fail(name, f"the algorithm {_show(algorithm)} is not one of {', '.join(_HASHES)}")
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def _json_merge(name: str, args: list[Any]) -> dict[str, Any]:
    for arg, which in zip(args[:2], _ORDINALS[:2], strict=True):
        if not isinstance(arg, dict):
            raise _fail(name, f"the {which} argument must be a JSON object, not {_show(arg)}")
    if args[2] is not False:
        raise _fail(name, "the third argument must be false: only the shallow merge exists")
    return {**args[0], **args[1]}


def _math_random(name: str, args: list[Any]) -> int:
    start, end = _integer(name, args[0], "first"), _integer(name, args[1], "second")
    if start >= end:
        raise _fail(name, f"the start {start} must be less than the end {end}")
    chance = _random if len(args) == 2 else random.Random(_integer(name, args[2], "third"))
    return chance.randrange(start, end)


def _math_add(name: str, args: list[Any]) -> int:
    total = 0
    for arg, which in zip(args, _ORDINALS[:2], strict=True):
        number = _integer(name, arg, which)
        if not _INT_MIN <= number <= _INT_MAX:
            raise _fail(name, f"{number} is outside the integers from {_INT_MIN} to {_INT_MAX}")
        total += number
    return total


def _string_split(name: str, args: list[Any]) -> list[str]:
    text, delimiters = _text(name, args[0]), _text(name, args[1], "second")
    if not delimiters:
        return [text] if text else []
    parts = re.split("[" + re.escape(delimiters) + "]", text)
    return [part for part in parts if part]


_ORDINALS = ("first", "second", "third")
_Function = Callable[[str, list[Any]], Any]
#: Each function's least and most arguments (None: no most) and what it computes.
_FUNCTIONS: dict[str, tuple[int, int | None, _Function]] = {
    "States.Format": (1, None, _format),
    "States.StringToJson": (1, 1, _string_to_json),
    "States.JsonToString": (1, 1, lambda name, args: _compact(args[0])),
    "States.Array": (0, None, lambda name, args: list(args)),
    "States.ArrayPartition": (2, 2, _partition),
    "States.ArrayContains": (2, 2, _contains),
    "States.ArrayRange": (3, 3, _range),
    "States.ArrayGetItem": (2, 2, _get_item),
    "States.ArrayLength": (1, 1, lambda name, args: len(_array(name, args[0]))),
    "States.ArrayUnique": (1, 1, _unique),
    "States.Base64Encode": (1, 1, lambda name, args: _base64(_text(name, args[0], limit=MAX_TEXT))),
    "States.Base64Decode": (1, 1, _base64_decode),
    "States.Hash": (2, 2, _hash),
    "States.JsonMerge": (3, 3, _json_merge),
    "States.MathRandom": (2, 3, _math_random),
    "States.MathAdd": (2, 2, _math_add),
    "States.StringSplit": (2, 2, _string_split),
    "States.UUID": (0, 0, lambda name, args: str(uuid.uuid4())),
}
