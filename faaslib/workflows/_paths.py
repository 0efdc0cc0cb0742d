"""JSONPath and payload templates of the States Language, over jsonpath-ng.

A *Path* starts with ``$`` (the state's data) or ``$$`` (the context object). A path of
single names and single indices (``$.a.b[0]``) is *definite*: it selects one value, and
selecting nothing is ``States.Runtime``. A path with ``*``, ``..``, a filter, a slice or a
union can select several values and gives their list (empty when nothing matches), as Step
Functions' JSONPath engine does. A *Reference Path* (``ResultPath``, a Choice ``Variable``)
is definite with indices of 0 or more.

Each distinct path text is parsed once (:func:`functools.lru_cache`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ._failure import RESULT_PATH_MATCH_FAILURE, RUNTIME, StatesFailure

try:
    from jsonpath_ng import JSONPath
    from jsonpath_ng.exceptions import JSONPathError
    from jsonpath_ng.ext.filter import Filter
    from jsonpath_ng.ext.parser import parse as parse_with_filters
    from jsonpath_ng.jsonpath import Child, Descendants, Fields, Index, Root, Slice, Wildcard
    from jsonpath_ng.parser import parse
except ImportError as error:
    raise ImportError(
        "Step Functions state machines need jsonpath-ng: pip install 'faaslib[workflows]'"
    ) from error

__all__ = [
    "check_path",
    "json_type",
    "number_field",
    "path_exists",
    "put_result",
    "read_path",
]

_NOT_REFERENCE = (
    "must be a Reference Path (names and single indices only: no '*', '..', filters, "
    "slices or unions)"
)
#: Fields whose path AWS reports as ``Invalid path '...' : No results for path: ...``.
_IO_FIELDS = frozenset({"InputPath", "OutputPath"})
#: The Choice operators that compare with a path (``NumericLessThanPath``...).
_CHOICE_PATH_OPERATORS = frozenset(
    f"{kind}{comparison}Path"
    for kind in ("String", "Numeric", "Boolean", "Timestamp")
    for comparison in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
)

Step = str | int  # a name in an object, or an index in an array


@dataclass(frozen=True, slots=True)
class _Path:
    """A parsed path: where it reads, its jsonpath-ng expression and, when definite, its steps."""

    text: str
    context: bool  # ``$$``: reads the context object
    expr: JSONPath
    steps: tuple[Step, ...] | None  # names and indices, for a definite path; else None

    @property
    def reference(self) -> bool:
        return self.steps is not None and all(
            isinstance(step, str) or step >= 0 for step in self.steps
        )


def check_path(text: object, *, reference: bool = False) -> str | None:
    """``None`` when ``text`` is a valid path (a Reference Path with ``reference``), else why not."""
    if not isinstance(text, str):
        return f"must be a string (a path starting with '$'), not {json_type(text)}"
    if not text.startswith("$"):
        return f"'{text}' is not a path: a path starts with '$'"
    compiled = _compile(text)
    if isinstance(compiled, str):
        return compiled
    if reference and not compiled.reference:
        return f"'{text}' {_NOT_REFERENCE}"
    return None


def read_path(path: str, data: Any, context: Any, *, field: str) -> Any:
    """The value ``path`` selects: in ``data``, or in ``context`` for ``$$`` paths.

    A definite path that selects nothing raises ``States.Runtime`` whose cause names the path
    (and ``field``) in AWS's words: ``InputPath``/``OutputPath`` as ``Invalid path``, a Choice
    ``Variable`` (or a ``...Path`` operand) as an invalid condition path, any other field (a
    template's ``key.$``, ``ItemsPath``, ``SecondsPath``, ...) as a JSONPath not found in the
    input. A path that can select several values gives their list.
    """
    compiled = _compiled(path)
    document = context if compiled.context else data
    if compiled.steps is None:
        return [match.value for match in compiled.expr.find(document)]
    value = _walk(document, compiled.steps)
    if value is _NOTHING:
        raise StatesFailure(RUNTIME, _not_found(compiled, field, document))
    return value


def path_exists(path: str, data: Any, context: Any) -> bool:
    """Whether ``path`` selects something (Choice ``IsPresent``): a match, or a non-empty list."""
    compiled = _compiled(path)
    document = context if compiled.context else data
    if compiled.steps is None:
        return bool(compiled.expr.find(document))
    return _walk(document, compiled.steps) is not _NOTHING


def put_result(data: Any, result: Any, result_path: str | None) -> Any:
    """``data`` with ``result`` placed at ``result_path`` (a Reference Path), as ``ResultPath``.

    ``"$"`` gives ``result``; ``None`` (JSON null) gives ``data``. Otherwise a copy of ``data``
    (only the objects on the way are copied; ``data`` is never changed) with ``result`` at the
    path, objects missing on the way created; a path through something that is not an object
    (or an index past an array's end) is ``States.ResultPathMatchFailure``.
    """
    if result_path is None:
        return data
    compiled = _compiled(result_path)
    if compiled.context or not compiled.reference or compiled.steps is None:
        raise ValueError(f"ResultPath '{result_path}' {_NOT_REFERENCE} into the state's data")
    if not compiled.steps:
        return result
    placed = _placed(data, compiled.steps, result)
    if placed is _MISMATCH:
        cause = f"Unable to apply ReplacementPath '{result_path}' to input '{_compact(data)}'"
        raise StatesFailure(RESULT_PATH_MATCH_FAILURE, cause)
    return placed


class _Marker:
    """A value no JSON document holds."""


_MISMATCH = _Marker()  # a ResultPath that cannot be applied
_NOTHING = _Marker()  # a definite path that selects nothing


def _walk(node: Any, steps: tuple[Step, ...]) -> Any:
    """The value at the names and indices of a definite path (as parsed by jsonpath-ng), or
    ``_NOTHING``: a name selects in an object, an index (from the end when negative) in an array.
    """
    for step in steps:
        if isinstance(step, str):
            if not isinstance(node, Mapping) or step not in node:
                return _NOTHING
        elif not isinstance(node, list) or not -len(node) <= step < len(node):
            return _NOTHING
        node = node[step]
    return node


def _placed(node: Any, steps: tuple[Step, ...], result: Any) -> Any:
    """``node`` with ``result`` at ``steps``, copying what it changes; ``_MISMATCH`` if it can't."""
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        if not isinstance(node, Mapping):
            return _MISMATCH
        child = node.get(step, {}) if rest else None
    else:
        if not isinstance(node, list) or step >= len(node):
            return _MISMATCH
        child = node[step] if rest else None
    value = _placed(child, rest, result) if rest else result
    if value is _MISMATCH:
        return _MISMATCH
    copy: Any = dict(node) if isinstance(step, str) else list(node)
    copy[step] = value
    return copy


def _compiled(path: str) -> _Path:
    """The parsed ``path``; a malformed path (the definition check rejects those) is a failure."""
    compiled = _compile(path) if isinstance(path, str) else check_path(path)
    if isinstance(compiled, _Path):
        return compiled
    raise StatesFailure(RUNTIME, f"Invalid path '{path}': {compiled}")


@lru_cache(maxsize=4096)
def _compile(text: str) -> _Path | str:
    """``text`` parsed by jsonpath-ng, or why it is not a path of the States Language."""
    context = text.startswith("$$")
    source = text[1:] if context else text
    if not source.startswith("$") or source.startswith("$$"):
        return f"'{text}' is not a path: a path starts with '$' or '$$'"
    try:
        with warnings.catch_warnings():
            # jsonpath-ng's own operators (`|`, `where`, named operators) are not JSONPath.
            warnings.simplefilter("error", DeprecationWarning)
            expr = _parse(source)
    except JSONPathError as error:
        return f"'{text}' is not a valid JSONPath: {error}"
    except DeprecationWarning:
        return f"'{text}' is not a valid JSONPath: it uses an operator JSONPath does not have"
    steps = _steps(expr)
    if isinstance(steps, str):
        return f"'{text}' is not a valid JSONPath: {steps}"
    return _Path(text, context, expr, steps)


def _parse(source: str) -> JSONPath:
    """``source`` parsed by jsonpath-ng (its ``ext`` parser, for a filter, only when needed)."""
    return parse_with_filters(source) if "?" in source else parse(source)


def _steps(expr: JSONPath) -> tuple[Step, ...] | None | str:
    """The names and indices of a definite path, ``None`` for an indefinite one, or what's wrong."""
    nodes = _chain(expr)
    steps: list[Step] = []
    definite = True
    for position, node in enumerate(nodes):
        if isinstance(node, Root) and position == 0:
            continue
        if position == 0 or isinstance(node, Root) or _zero_step(node):
            return f"'{node}' is not supported in a path"
        if isinstance(node, Fields) and len(node.fields) == 1:
            steps.append(node.fields[0])
        elif isinstance(node, Index) and len(node.indices) == 1:
            steps.append(node.indices[0])
        elif isinstance(node, Fields | Index | Slice | Wildcard | Descendants | Filter):
            definite = False
        else:
            return f"'{node}' is not supported in a path"
    return tuple(steps) if definite else None


def _zero_step(node: JSONPath) -> bool:
    """Whether ``node`` is a slice with a step of 0 (which Python cannot take)."""
    return isinstance(node, Slice) and node.step == 0


def _chain(expr: JSONPath) -> list[JSONPath]:
    """The steps of ``expr`` left to right (``Child`` flattened, ``..`` kept as a marker step)."""
    if isinstance(expr, Child):
        return _chain(expr.left) + _chain(expr.right)
    if isinstance(expr, Descendants):
        return [*_chain(expr.left), expr, *_chain(expr.right)]
    return [expr]


def _not_found(compiled: _Path, field: str, document: Any) -> str:
    """AWS's cause for a definite path that selects nothing in ``document``."""
    path = compiled.text
    if field in _IO_FIELDS:
        return f"Invalid path '{path}' : No results for path: {_normalized(compiled)}"
    if field == "Variable" or field in _CHOICE_PATH_OPERATORS:
        return (
            f"Invalid path '{path}': The choice state's condition path references an invalid value."
        )
    return (
        f"The JSONPath '{path}' specified for the field '{field}' "
        f"could not be found in the input '{_compact(document)}'"
    )


def _normalized(compiled: _Path) -> str:
    """The path in the bracket notation AWS's engine reports (``$['a'][0]``)."""
    steps = compiled.steps or ()
    parts = "".join(f"['{step}']" if isinstance(step, str) else f"[{step}]" for step in steps)
    return ("$$" if compiled.context else "$") + parts


def _compact(value: Any) -> str:
    """``value`` as compact JSON text, as Step Functions quotes an input in a cause."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def json_type(value: object) -> str:
    """The JSON type name of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "an array"
    return "a string" if isinstance(value, str) else type(value).__name__


def number_field(
    state: Mapping[str, Any], field: str, data: Any, context: Any, *, low: float, whole: bool
) -> float | None:
    """A state's number ``field`` (``TimeoutSeconds``, ``MaxConcurrency``, ...), or what its
    Path form (``TimeoutSecondsPath``) selects; ``None`` with neither.

    :raises StatesFailure: ``States.Runtime``: the path selects no number (a whole one with
        ``whole``) of at least ``low``
    """
    if field in state:
        return float(state[field])
    path = state.get(field + "Path")
    if path is None:
        return None
    value = read_path(path, data, context, field=field + "Path")
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < low:
        wanted = "a whole number" if whole else "a number"
        raise StatesFailure(
            RUNTIME, f"The {field}Path '{path}' does not reference {wanted} of at least {low:g}"
        )
    return float(value)
