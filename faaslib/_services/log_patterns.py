"""CloudWatch Logs filter patterns: what metric filters, subscription filters and
FilterLogEvents use to select log events.

A pattern has one of three forms, told by its first character:

- **Terms** (anything else): words that must all appear in the message, case-sensitive, as
  substrings (``ERROR`` matches ``ERRORCODE``); ``"a phrase"`` in double quotes is one term
  (needed for anything but letters, digits and ``_``); ``-term`` excludes; ``%regex%`` is a
  regular expression searched in the message. ``?term`` starts an alternative: the pattern
  is a list of groups, each begun by a ``?`` term (the terms before the first ``?`` are a
  group too), and matches when any group does (``?ERROR ?WARN``; ``?ERROR Main ?WARN
  Deadlock`` is "ERROR and Main, or WARN and Deadlock"). An empty pattern matches every
  event.
- **JSON** (``{ ... }``): comparisons of the message parsed as JSON: ``$.a.b[0] = "text"``,
  ``!=``, numeric ``<``, ``<=``, ``>``, ``>=``, ``IS NULL``, ``IS TRUE``, ``IS FALSE``,
  ``NOT EXISTS``, joined by ``&&`` (binding tighter) and ``||`` with parentheses. A selector
  must reach a value (string, number, boolean, null): one that reaches an object or array, or
  nothing, fails every comparison but ``NOT EXISTS``. A message that is not JSON matches no
  JSON pattern.
- **Space-delimited** (``[ ... ]``): the message split into fields at spaces (text between
  ``"..."`` or ``[...]`` is one field, without them), named in order by the pattern's
  comma-separated slots: ``[ip, user, ..., status = 5*, size > 1000]``. ``...`` stands for
  any number of fields (once), an empty slot for one unnamed field. Each slot may carry
  conditions joined by ``&&`` and ``||``. Without ``...`` the message has exactly as many
  fields as the pattern has slots. A match extracts the fields: ``$name`` for named slots,
  ``$<position>`` (from 1) for the others.

String values compare exactly, except that a ``*`` at their start or end matches any text
(``*Event``, ``4*``; ``*`` alone matches any value but null); a ``*`` in the middle is
itself. A number
compares as a number with numbers (``10e3``, ``+1000``, ``55.5``), and by its text with text.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._errors import InvalidParameterException

__all__ = ["MAX_FILTER_PATTERN", "LogPattern"]

#: Characters of a filter pattern (``FilterPattern``'s length in CloudWatch Logs' API).
MAX_FILTER_PATTERN = 1024

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_WORD = re.compile(r"\w+")  # letters (any script), digits and underscore
_NAME = re.compile(r"[\w-]+")
_BARE = re.compile(r"[\w.*:/+-]+")
_REGEX = re.compile(r"[A-Za-z0-9_#=@/;,:\-^$?\[\]{}|\\*+.]+")
#: Regular expressions a JSON or space-delimited pattern may hold.
MAX_REGEXES = 2
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
_ORDERINGS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


Fields = dict[str, str]
_Test = Callable[[Any], bool]


class LogPattern:
    """A compiled filter pattern.

    :raises InvalidParameterException: the pattern is over 1,024 characters or does not parse
    """

    def __init__(self, pattern: str) -> None:
        if len(pattern) > MAX_FILTER_PATTERN:
            raise InvalidParameterException(
                f"1 validation error detected: Value '{pattern}' at 'filterPattern' failed to "
                f"satisfy constraint: Member must have length less than or equal to "
                f"{MAX_FILTER_PATTERN}"
            )
        self.text = pattern
        body = pattern.strip()
        self.kind: Literal["terms", "json", "delimited"]
        self._match: Callable[[str], Fields | None]
        if body.startswith("{"):
            self.kind, self._match = "json", _json_pattern(_enclosed(body, "{", "}"))
        elif body.startswith("["):
            self.kind, self._match = "delimited", _delimited_pattern(_enclosed(body, "[", "]"))
        else:
            self.kind, self._match = "terms", _terms_pattern(_Scanner(body))

    def match(self, message: str) -> Fields | None:
        """``None`` when the message does not match; else the fields a space-delimited pattern
        extracts (empty for the other forms)."""
        return self._match(message)

    def matches(self, message: str) -> bool:
        return self._match(message) is not None

    def __repr__(self) -> str:
        return f"LogPattern({self.text!r})"


def _enclosed(body: str, opening: str, closing: str) -> _Scanner:
    """A scanner over what is between a pattern's braces or brackets."""
    if not body.endswith(closing) or len(body) < 2:
        raise InvalidParameterException(
            f"If a filter pattern starts with '{opening}' it must end with '{closing}'"
        )
    return _Scanner(body, 1, len(body) - 1)


# -- A scanner shared by the three forms --------------------------------------------------------


class _Scanner:
    """Reads a pattern left to right; raises InvalidParameterException where it cannot."""

    def __init__(self, text: str, start: int = 0, end: int | None = None) -> None:
        self.text = text  # the whole pattern, for messages; this scanner reads [start, end)
        self.start = self.at = start
        self.end = len(text) if end is None else end
        self.regexes = 0

    def part(self, start: int, end: int) -> _Scanner:
        return _Scanner(self.text, start, end)

    def char(self) -> str:
        return self.text[self.at] if self.at < self.end else ""

    def skip_space(self) -> None:
        while self.at < self.end and self.text[self.at].isspace():
            self.at += 1

    def done(self) -> bool:
        self.skip_space()
        return self.at >= self.end

    def peek(self, literal: str) -> bool:
        self.skip_space()
        return self.text.startswith(literal, self.at, self.end)

    def eat(self, literal: str) -> bool:
        if self.peek(literal):
            self.at += len(literal)
            return True
        return False

    def expect(self, literal: str) -> None:
        if not self.eat(literal):
            raise self.error(f"expected '{literal}'")

    def keyword(self, word: str) -> bool:
        """Eat ``word`` when it stands alone (case-sensitive, as AWS writes it)."""
        self.skip_space()
        end = self.at + len(word)
        if self.peek(word) and (end >= self.end or not self.text[end].isalnum()):
            self.at = end
            return True
        return False

    def match(self, pattern: re.Pattern[str]) -> str | None:
        self.skip_space()
        found = pattern.match(self.text, self.at, self.end)
        if found is None or not found.group():
            return None
        self.at = found.end()
        return found.group()

    def quoted(self) -> str:
        """A ``"..."`` string after its opening quote, with ``\\"`` and ``\\\\`` escapes."""
        chars: list[str] = []
        while self.at < self.end:
            char = self.text[self.at]
            self.at += 1
            if char == '"':
                return "".join(chars)
            if char == "\\" and self.at < self.end:
                char = self.text[self.at]
                self.at += 1
            chars.append(char)
        raise self.error("a quoted string is not closed")

    def until(self, closing: str) -> str:
        end = self.text.find(closing, self.at, self.end)
        if end < 0:
            raise self.error(f"expected a closing '{closing}'")
        found, self.at = self.text[self.at : end], end + 1
        return found

    def error(self, why: str) -> InvalidParameterException:
        return InvalidParameterException(
            f"Invalid filter pattern '{self.text}' at character {self.at + 1}: {why}"
        )


def _regex(body: str, scanner: _Scanner) -> re.Pattern[str]:
    """A ``%regex%``'s body, of the characters CloudWatch Logs takes (no parentheses)."""
    if not body or not _REGEX.fullmatch(body):
        raise scanner.error(
            "a %regex% holds ASCII letters and digits, the symbols _ # = @ / ; , - : and the "
            "operators ^ $ ? [ ] { } | \\ * + . (no parentheses)"
        )
    scanner.regexes += 1
    try:
        return re.compile(body)
    except re.error as exc:
        raise scanner.error(f"invalid regular expression: {exc}") from None


# -- Terms ---------------------------------------------------------------------------------------


@dataclass
class _Group:
    """Terms that must all appear, and terms none of which may."""

    include: list[Callable[[str], bool]]
    exclude: list[Callable[[str], bool]]

    def matches(self, message: str) -> bool:
        return all(t(message) for t in self.include) and not any(t(message) for t in self.exclude)


def _terms_pattern(scanner: _Scanner) -> Callable[[str], Fields | None]:
    groups: list[_Group] = []
    while not scanner.done():
        prefix = scanner.char() if scanner.char() in "?-" else ""
        scanner.at += len(prefix)
        term = _term(scanner)
        if prefix == "?" or not groups:
            groups.append(_Group([], []))
        (groups[-1].exclude if prefix == "-" else groups[-1].include).append(term)

    def match(message: str) -> Fields | None:
        return {} if not groups or any(g.matches(message) for g in groups) else None

    return match


def _term(scanner: _Scanner) -> Callable[[str], bool]:
    if scanner.eat('"'):
        phrase = scanner.quoted()
        return lambda message: phrase in message
    if scanner.eat("%"):
        regex = _regex(scanner.until("%"), scanner)
        return lambda message: regex.search(message) is not None
    scanner.skip_space()
    start = scanner.at
    while scanner.at < scanner.end and not scanner.char().isspace():
        scanner.at += 1
    word = scanner.text[start : scanner.at]
    if not _WORD.fullmatch(word):
        raise InvalidParameterException(f"Invalid character(s) in term '{word}'")
    return lambda message: word in message


# -- Values: what JSON and space-delimited conditions compare with --------------------------------


def _value_test(scanner: _Scanner, op: str) -> _Test:
    """The test ``<op> <value>`` makes of a field's value, read from the scanner."""
    if scanner.eat('"'):
        text = scanner.quoted()
        if op not in ("=", "!="):
            raise scanner.error(f"'{op}' compares numbers, not '{text}'")
        return _text_test(op, text)
    if scanner.eat("%"):
        if op not in ("=", "!="):
            raise scanner.error(f"a regular expression cannot be compared with '{op}'")
        regex = _regex(scanner.until("%"), scanner)
        return _applied(op, lambda value: regex.search(_as_text(value)) is not None)
    bare = scanner.match(_BARE)
    if bare is None:
        raise scanner.error("expected a value (quote text with other characters)")
    if _NUMBER.fullmatch(bare):
        return _number_test(op, bare)
    if op not in ("=", "!="):
        raise scanner.error(f"'{op}' compares numbers, not '{bare}'")
    return _text_test(op, bare)


def _applied(op: str, test: _Test) -> _Test:
    """``= value`` (``test``) or ``!= value`` (its negation), of a value node only."""
    if op == "=":
        return lambda value: _is_value(value) and test(value)
    return lambda value: _is_value(value) and not test(value)


def _text_test(op: str, expected: str) -> _Test:
    return _applied(op, lambda value: value is not None and _glob(expected, _as_text(value)))


def _number_test(op: str, literal: str) -> _Test:
    number = float(literal)
    if op in _ORDERINGS:
        ordering = _ORDERINGS[op]
        return lambda value: (found := _as_number(value)) is not None and ordering(found, number)

    def equal(value: Any) -> bool:
        found = _as_number(value)
        return found == number if found is not None else _as_text(value) == literal

    return _applied(op, lambda value: value is not None and equal(value))


def _glob(expected: str, text: str) -> bool:
    """Equality where a ``*`` at either end of ``expected`` matches any text."""
    if expected == "*":
        return True
    leading, trailing = expected.startswith("*"), expected.endswith("*")
    core = expected[1 if leading else 0 : len(expected) - 1 if trailing else len(expected)]
    if leading and trailing:
        return core in text
    if leading:
        return text.endswith(core)
    if trailing:
        return text.startswith(core)
    return text == expected


class _Missing:
    """What a selector that reaches nothing yields."""


_MISSING = _Missing()


def _is_value(value: Any) -> bool:
    """Whether a selector reached a value node (not an object, an array or nothing)."""
    return not isinstance(value, (dict, list, _Missing))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return None


# -- Boolean expressions (&&, ||, parentheses) over comparisons ------------------------------------

_Condition = Callable[[Any], bool]  # of the parsed message (JSON) or the named fields


def _expression(scanner: _Scanner, comparison: Callable[[_Scanner], _Condition]) -> _Condition:
    """``a && b || (c || d) && e``: ``&&`` binds tighter than ``||``."""
    alternatives = [_conjunction(scanner, comparison)]
    while scanner.eat("||"):
        alternatives.append(_conjunction(scanner, comparison))
    if len(alternatives) == 1:
        return alternatives[0]
    return lambda subject: any(a(subject) for a in alternatives)


def _conjunction(scanner: _Scanner, comparison: Callable[[_Scanner], _Condition]) -> _Condition:
    parts = [_primary(scanner, comparison)]
    while scanner.eat("&&"):
        parts.append(_primary(scanner, comparison))
    if len(parts) == 1:
        return parts[0]
    return lambda subject: all(p(subject) for p in parts)


def _primary(scanner: _Scanner, comparison: Callable[[_Scanner], _Condition]) -> _Condition:
    if scanner.eat("("):
        inner = _expression(scanner, comparison)
        scanner.expect(")")
        return inner
    return comparison(scanner)


def _operator(scanner: _Scanner) -> str:
    for op in _OPERATORS:
        if scanner.eat(op):
            return op
    raise scanner.error("expected a comparison (=, !=, <, <=, >, >=)")


# -- JSON ----------------------------------------------------------------------------------------

_Step = str | int


def _json_pattern(scanner: _Scanner) -> Callable[[str], Fields | None]:
    if scanner.done():
        raise scanner.error("a JSON pattern needs a condition")
    condition = _expression(scanner, _json_comparison)
    if not scanner.done():
        raise scanner.error("expected '&&', '||' or the end")
    _check_regexes(scanner.regexes, scanner.text)

    def match(message: str) -> Fields | None:
        try:
            document = json.loads(message)
        except ValueError:
            return None
        return {} if condition(document) else None

    return match


def _json_comparison(scanner: _Scanner) -> _Condition:
    path = _selector(scanner)
    if scanner.keyword("IS"):
        for word, wanted in (("NULL", None), ("TRUE", True), ("FALSE", False)):
            if scanner.keyword(word):
                return _is(path, wanted)
        raise scanner.error("expected NULL, TRUE or FALSE after IS")
    if scanner.keyword("NOT"):
        if not scanner.keyword("EXISTS"):
            raise scanner.error("expected EXISTS after NOT")
        return lambda doc: isinstance(_select(doc, path), _Missing)
    test = _value_test(scanner, _operator(scanner))
    return lambda doc: test(_select(doc, path))


def _is(path: Sequence[_Step], wanted: bool | None) -> _Condition:
    # None, True and False are singletons: 1 is not TRUE, nor 0 FALSE
    return lambda document: _select(document, path) is wanted


def _selector(scanner: _Scanner) -> list[_Step]:
    if not scanner.eat("$"):
        raise scanner.error("a selector starts with '$'")
    path: list[_Step] = []
    while True:
        if scanner.char() == ".":
            scanner.at += 1
            name = _NAME.match(scanner.text, scanner.at, scanner.end)
            if name is None:
                raise scanner.error("expected a property name after '.'")
            path.append(name.group())
            scanner.at = name.end()
        elif scanner.char() == "[":
            scanner.at += 1
            index = scanner.until("]")
            if not index.isdigit():
                raise scanner.error("an array index is a whole number")
            path.append(int(index))
        else:
            if not path:
                raise scanner.error("a selector names a property: $.name")
            return path


def _select(document: Any, path: Sequence[_Step]) -> Any:
    node = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return _MISSING
        elif not isinstance(node, dict) or step not in node:
            return _MISSING
        node = node[step]
    return node


# -- Space-delimited -----------------------------------------------------------------------------

_ELLIPSIS = "..."


@dataclass
class _Slot:
    name: str | None  # None: an unnamed field, or the ellipsis
    condition: _Condition | None = None
    ellipsis: bool = False


def _check_regexes(count: int, pattern: str) -> None:
    if count > MAX_REGEXES:
        raise InvalidParameterException(
            f"Invalid filter pattern '{pattern}': a JSON or space-delimited pattern holds at "
            f"most {MAX_REGEXES} regular expressions"
        )


def _delimited_pattern(pattern: _Scanner) -> Callable[[str], Fields | None]:
    scanners = _split_slots(pattern)
    slots = [_slot(scanner) for scanner in scanners]
    _check_regexes(sum(s.regexes for s in scanners), pattern.text)
    ellipses = [i for i, s in enumerate(slots) if s.ellipsis]
    if len(ellipses) > 1:
        raise InvalidParameterException(
            f"Invalid filter pattern '{pattern.text}': '...' may appear only once"
        )
    if slots == [_Slot(None)]:
        slots = []  # "[]"

    def match(message: str) -> Fields | None:
        return _extract(slots, ellipses[0] if ellipses else None, _fields(message))

    return match


def _split_slots(pattern: _Scanner) -> list[_Scanner]:
    """Scanners over the pattern's slots: split at commas outside quotes."""
    text, parts, start, quoted = pattern.text, [], pattern.start, False
    for at in range(pattern.start, pattern.end):
        if text[at] == '"' and text[at - 1] != "\\":
            quoted = not quoted
        elif text[at] == "," and not quoted:
            parts.append(pattern.part(start, at))
            start = at + 1
    parts.append(pattern.part(start, pattern.end))
    return parts


def _slot(scanner: _Scanner) -> _Slot:
    if scanner.done():
        return _Slot(None)
    if scanner.eat(_ELLIPSIS):
        if not scanner.done():
            raise scanner.error("'...' takes no condition")
        return _Slot(None, ellipsis=True)
    name = scanner.match(_NAME)
    if name is None:
        raise scanner.error("a field is named with letters, digits, '_' and '-'")
    if scanner.done():
        return _Slot(name)
    scanner.at = scanner.start  # the slot's own name is the first condition's subject
    condition = _expression(scanner, _field_comparison)
    if not scanner.done():
        raise scanner.error("expected '&&', '||' or the end of the field")
    return _Slot(name, condition)


def _field_comparison(scanner: _Scanner) -> _Condition:
    name = scanner.match(_NAME)
    if name is None:
        raise scanner.error("expected a field name")
    test = _value_test(scanner, _operator(scanner))
    return lambda fields: test(fields.get(name, _MISSING))


def _fields(message: str) -> list[str]:
    """A message's space-delimited fields; ``"..."`` and ``[...]`` enclose one field."""
    fields: list[str] = []
    at, end = 0, len(message)
    while True:
        while at < end and message[at].isspace():
            at += 1
        if at >= end:
            return fields
        closing = {'"': '"', "[": "]"}.get(message[at])
        if closing is not None:
            stop = message.find(closing, at + 1)
            stop = end if stop < 0 else stop
            fields.append(message[at + 1 : stop])
            at = stop + 1
        else:
            stop = at
            while stop < end and not message[stop].isspace():
                stop += 1
            fields.append(message[at:stop])
            at = stop


def _extract(slots: Sequence[_Slot], ellipsis: int | None, fields: Sequence[str]) -> Fields | None:
    """The extracted fields when ``fields`` fill ``slots`` and meet their conditions."""
    if ellipsis is None:
        if len(fields) != len(slots):
            return None
        names = [s.name for s in slots]
    else:
        spread = len(fields) - (len(slots) - 1)
        if spread < 0:
            return None
        before, after = slots[:ellipsis], slots[ellipsis + 1 :]
        names = [s.name for s in before] + [None] * spread + [s.name for s in after]
    named: dict[str, str] = {n: f for n, f in zip(names, fields, strict=True) if n is not None}
    if not all(s.condition(named) for s in slots if s.condition is not None):
        return None
    return {
        f"${name}" if name is not None else f"${position}": field
        for position, (name, field) in enumerate(zip(names, fields, strict=True), start=1)
    }
