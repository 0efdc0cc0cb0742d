"""JSON payloads to typed events and handler results back to JSON bytes, through pydantic.

One :class:`~pydantic.TypeAdapter` is cached per type (keyed by the type itself). Events are
validated straight from bytes (``validate_json``): there is no intermediate ``dict``, and a
Python object passed as payload is serialised first, so the handler never shares an object
with the caller.
"""

from __future__ import annotations

import decimal
import json.encoder
import math
import types
from collections import abc
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

import pydantic_core
from pydantic import (
    BaseModel,
    PydanticUndefinedAnnotation,
    PydanticUserError,
    TypeAdapter,
    ValidationError,
)

from ._errors import InvalidRequestContentException, RequestTooLargeException, ValidationException

__all__ = [
    "JSON_OBJECT",
    "MARSHAL_ERRORS",
    "adapter_for",
    "check_size",
    "event_decoder",
    "marshal_untyped",
    "payload_bytes",
    "payload_too_large",
    "result_encoder",
    "runtime_json",
    "type_name",
    "untyped_return",
]

_adapters: dict[Any, TypeAdapter[Any]] = {}
_to_json = pydantic_core.to_json

EventDecoder = Callable[[bytes], Any]
ResultEncoder = Callable[[Any], bytes]

#: JSON text of a str as the runtime's encoder writes it (``ensure_ascii=False``): quotes,
#: backslashes and control characters escaped, the rest as it is.
_encode_string: Callable[[str], str] = json.encoder.encode_basestring


def adapter_for(tp: Any) -> TypeAdapter[Any]:
    """Return the cached :class:`~pydantic.TypeAdapter` for ``tp``, creating it once.

    :raises ~faaslib.ValidationException: pydantic cannot build a schema for ``tp``
    """
    try:
        return _adapters[tp]
    except KeyError:
        pass
    except TypeError:  # unhashable annotation (e.g. Annotated with a list): no caching
        return _build_adapter(tp)
    adapter = _adapters[tp] = _build_adapter(tp)
    return adapter


def _build_adapter(tp: Any) -> TypeAdapter[Any]:
    try:
        adapter = TypeAdapter(tp)
        if not adapter.pydantic_complete:  # pydantic defers forward references: resolve now
            adapter.rebuild(raise_errors=True)
        return adapter
    except (PydanticUserError, PydanticUndefinedAnnotation) as exc:  # no schema, or unresolved
        raise ValidationException(
            "handler",
            type_name(tp),
            f"Member's annotations must be types pydantic supports ({exc})",
        ) from exc


def type_name(tp: Any) -> str:
    """Return a short readable name for a type or annotation."""
    if isinstance(tp, type) and get_origin(tp) is None:  # list[int] is a type on 3.10
        return tp.__name__
    return repr(tp).replace("typing.", "")


def payload_bytes(payload: object, function_name: str) -> bytes:
    """Return the JSON document of a payload as bytes.

    ``bytes``, ``bytearray``, ``memoryview`` and ``str`` are taken as JSON text; an empty
    payload is ``{}``, as Lambda hands the handler for an empty body. Any other object is
    serialised to JSON (pydantic models, dataclasses, dicts, lists, ...).

    :raises ~faaslib.InvalidRequestContentException: the object cannot be serialised to JSON,
        or the text cannot be encoded as UTF-8 (a lone surrogate)
    """
    if type(payload) is bytes:
        data = payload
    elif isinstance(payload, str):
        try:
            data = payload.encode()
        except UnicodeEncodeError as exc:  # a lone surrogate: not text JSON can carry
            raise InvalidRequestContentException(
                f"Could not parse request body into json: {exc}", function_name=function_name
            ) from None
    elif isinstance(payload, (bytes, bytearray, memoryview)):
        data = bytes(payload)
    else:
        try:
            return pydantic_core.to_json(payload)
        except pydantic_core.PydanticSerializationError as exc:
            raise InvalidRequestContentException(
                f"Could not serialize payload into json: {exc}", function_name=function_name
            ) from exc
    return data or b"{}"


def check_size(function_name: str, data: bytes, limit: int, *, sync: bool) -> None:
    """Refuse a payload over its invocation type's limit, in Lambda's words.

    The message is the one Lambda's Invoke answers an SDK with, for instance ``6291457 byte
    payload is too large for the RequestResponse invocation type (limit 6291456 bytes)``;
    ``sync`` (RequestResponse and DryRun) names the RequestResponse type, else Event.

    :raises ~faaslib.RequestTooLargeException: ``data`` is over ``limit`` bytes
    """
    size = len(data)
    if size > limit:
        raise payload_too_large(function_name, size, limit, sync=sync)


def payload_too_large(
    function_name: str, size: int, limit: int, *, sync: bool
) -> RequestTooLargeException:
    """The error for a payload of ``size`` bytes over ``limit`` (see :func:`check_size`), for
    a body refused before it is read whole."""
    kind = "RequestResponse" if sync else "Event"
    return RequestTooLargeException(
        f"{size} byte payload is too large for the {kind} invocation type (limit {limit} bytes)",
        function_name=function_name,
        size=size,
        limit=limit,
    )


#: The bytes ``N`` and ``I``: a body without them holds neither ``NaN`` nor ``Infinity``, and
#: looking for one byte (memchr) costs a tenth of looking for a word.
_N, _I = ord("N"), ord("I")

#: Event types meaning "any JSON object": decoded by the JSON parser alone.
JSON_OBJECT: tuple[Any, ...] = (dict, dict[str, Any])


def event_decoder(event_type: Any, function_name: str) -> EventDecoder:
    """Return a function turning JSON bytes into the handler's event type.

    The decoder raises :class:`~faaslib.InvalidRequestContentException` for bytes that are not
    JSON (``NaN``, ``Infinity`` and ``-Infinity`` included: Lambda refuses them, though
    Python's parsers take them), and for JSON that does not validate (listing pydantic's error
    locations).
    """
    # The adapter's validator itself: TypeAdapter.validate_json's wrapper costs ~0.3 µs a call.
    validate = adapter_for(event_type).validator.validate_json
    expected = type_name(event_type)

    def decode(data: bytes) -> Any:
        if (_N in data and data.find(b"NaN") >= 0) or (_I in data and data.find(b"Infinity") >= 0):
            _refuse_non_json(data, function_name)  # rare: parsed once more to tell
        try:
            return validate(data)
        except ValidationError as exc:
            raise _request_content_error(exc, data, expected, function_name) from None

    if event_type is Any or event_type in JSON_OBJECT:
        # Nothing to validate beyond JSON (an object, for a dict): the parser alone builds
        # the same values, without the validator's cost per value (a third, on big batches).
        # Caching only keys: record values (ids, sequence numbers) rarely repeat, and looking
        # each up costs a sixth of a batch's parse.
        want_object = event_type is not Any
        parse = pydantic_core.from_json

        def decode_json(data: bytes) -> Any:
            try:
                value = parse(data, cache_strings="keys", allow_inf_nan=False)
            except ValueError:
                return decode(data)  # raises the validator's own error
            if want_object and type(value) is not dict:
                return decode(data)
            return value

        return decode_json
    return decode


def _parse_error(data: bytes) -> str | None:
    """Why ``data`` is not JSON, as pydantic words it; ``None`` when it is JSON."""
    try:
        pydantic_core.from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        return f"Invalid JSON: {exc}"
    return None


def _refuse_non_json(data: bytes, function_name: str) -> None:
    """Refuse a body holding ``NaN`` or an infinity outside strings (not JSON).

    :raises ~faaslib.InvalidRequestContentException: ``data`` is not JSON
    """
    reason = _parse_error(data)
    if reason is not None:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: {reason}", function_name=function_name
        )


def _request_content_error(
    exc: ValidationError, data: bytes, expected: str, function_name: str
) -> InvalidRequestContentException:
    """The 400 for a body that is not JSON, or does not fit the event type.

    pydantic reports JSON text that does not parse as ``json_invalid`` both for the body and
    for a ``Json[...]`` field of it: the body is at fault only when it does not parse itself.
    """
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    reason = None
    if any(e["type"] == "json_invalid" and not e["loc"] for e in errors):
        reason = _parse_error(data)
    if reason is not None:
        message = f"Could not parse request body into json: {reason}"
    else:
        lines = [
            f"  {'.'.join(str(part) for part in e['loc']) or '(root)'}: {e['msg']} [type={e['type']}]"
            for e in errors
        ]
        count = len(errors)
        message = (
            f"Payload does not match the event type {expected} of function '{function_name}': "
            f"{count} validation error{'s' if count != 1 else ''}\n" + "\n".join(lines)
        )
    return InvalidRequestContentException(
        message, function_name=function_name, errors=[dict(e) for e in errors]
    )


def result_encoder(return_type: Any) -> ResultEncoder:
    """Return a function turning a handler's result into JSON bytes.

    An untyped result (see :func:`untyped_return`) is marshalled as Lambda's Python runtime
    marshals it (:func:`marshal_untyped`); a typed one by its annotation, through pydantic, and
    a result that does not fit it is an error (:class:`pydantic_core.PydanticSerializationError`).
    """
    if untyped_return(return_type):
        return marshal_untyped
    # The adapter's serializer itself: TypeAdapter.dump_json's wrapper costs ~0.4 µs a call.
    dump = adapter_for(return_type).serializer.to_json
    # An instance of the annotated model itself (or of the scalar type) was checked when it
    # was made: it is dumped as pydantic dumps models, warnings on. Passing the mode
    # ``warnings="error"`` costs 1 µs a call (pydantic-core parses the string each time), as
    # much as the dump. A model made without validation (``model_construct``) whose fields do
    # not fit gets pydantic's serializer warning (an error where warnings are errors).
    exact = return_type if _checked_when_made(return_type) else None

    def encode(result: Any) -> bytes:
        if type(result) is exact:
            return dump(result)
        return dump(result, warnings="error")

    return encode


#: What an encoder raises for a result it cannot write: pydantic's error, or its serializer
#: warning where warnings are errors.
MARSHAL_ERRORS = (pydantic_core.PydanticSerializationError, UserWarning)


def _checked_when_made(annotation: Any) -> bool:
    """Whether every instance of ``annotation`` fits it: a pydantic model (validated when it
    is made) or a JSON scalar type."""
    if annotation in (str, int, float, bool):
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


# --------------------------------------------------------------------------------------------
# Untyped results: the runtime's marshalling
# --------------------------------------------------------------------------------------------

#: Origins of the containers an annotation may name and stay untyped.
_MAPPINGS = frozenset({dict, abc.Mapping, abc.MutableMapping})
_SEQUENCES = frozenset({list, tuple, abc.Sequence, abc.MutableSequence})
_UNIONS = (Union, types.UnionType)


def untyped_return(annotation: Any) -> bool:
    """Whether a return annotation leaves the result untyped: marshalled as Lambda's runtime
    marshals it, not through pydantic.

    Untyped are: no annotation (``None``), ``Any``, ``object`` and ``None`` (the type); the
    JSON containers ``dict``, ``list`` and ``tuple`` (also as ``typing.Dict``, ``Mapping``,
    ``Sequence`` and their mutable forms), bare or with untyped items (a mapping's key ``str``
    or ``Any``; a tuple ``tuple[X, ...]``), such as ``dict[str, Any]`` or
    ``list[dict[str, Any]]``; and unions of these (``dict[str, Any] | None``). These say
    nothing of the values beyond their being JSON. Every other annotation (a model, dataclass,
    TypedDict, ``int``, ``dict[str, int]``, ...) is typed.
    """
    if annotation is None or annotation is Any or annotation is object:
        return True
    if annotation is type(None) or annotation in _MAPPINGS or annotation in _SEQUENCES:
        return True
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in _UNIONS:
        return all(untyped_return(arg) for arg in args)
    if origin in _MAPPINGS:
        return not args or (args[0] in (str, Any) and untyped_return(args[1]))
    if origin is tuple:
        return not args or (len(args) == 2 and args[1] is Ellipsis and untyped_return(args[0]))
    if origin in _SEQUENCES:
        return all(untyped_return(arg) for arg in args)
    return False


#: Exact types pydantic_core writes as the runtime writes them (the fast path's leaves).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only dicts with str keys, lists, tuples and :data:`_PLAIN`
    values, all of exact types: JSON pydantic_core writes as the runtime does.

    Measured against the alternatives (a check per level in C through ``map(type, ...)``, an
    explicit stack): a loop per dict is fastest for the small dicts handlers return, and the
    C check first for lists.
    """
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _PLAIN and not _plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        if _PLAIN.issuperset(map(type, value)):
            return True
        for item in value:
            if type(item) not in _PLAIN and not _plain(item):
                return False
        return True
    return kind in _PLAIN


def marshal_untyped(result: Any) -> bytes:
    """JSON of an untyped result, as Lambda's Python runtime marshals it (simplejson,
    configured as on python3.12 and later runtimes).

    Plain JSON values (dicts with str keys, lists, tuples, str, int, float, bool, None) go
    through :func:`pydantic_core.to_json`; anything else through :func:`runtime_json`: a
    ``Decimal`` is the number it spells, a namedtuple an object, and a value the runtime
    cannot encode (set, datetime, UUID, Enum, dataclass, pydantic model, ...) an error with
    the runtime's message. The text is compact (no spaces), UTF-8 (non-ASCII not escaped) and
    writes NaN and infinities as ``NaN``, ``Infinity`` and ``-Infinity``, as the runtime does.

    :raises pydantic_core.PydanticSerializationError: the runtime cannot encode ``result``
        (its message is the runtime's, without ``Unable to marshal response: ``)
    """
    try:
        plain = _plain(result)
    except RecursionError:  # nested deeper than the check goes: the runtime's rules decide
        plain = False
    if plain:
        try:
            return _to_json(result)
        except pydantic_core.PydanticSerializationError:
            pass  # deeper than pydantic_core writes, or a lone surrogate: the slow path says
    return runtime_json(result)


#: simplejson's message when a result nests deeper than the interpreter's recursion limit.
_TOO_DEEP = "maximum recursion depth exceeded while encoding a JSON object"


def runtime_json(value: Any) -> bytes:
    """``value`` as JSON by the rules of the runtime's encoder, however it is made.

    :raises pydantic_core.PydanticSerializationError: the runtime cannot encode ``value``
    """
    parts: list[str] = []
    try:
        _RuntimeEncoder(parts).encode(value)
        return "".join(parts).encode()
    except RecursionError:
        raise pydantic_core.PydanticSerializationError(_TOO_DEEP) from None
    except Exception as exc:  # noqa: BLE001 - the runtime reports any error by its str
        raise pydantic_core.PydanticSerializationError(str(exc)) from None


class _RuntimeEncoder:
    """simplejson's encoding rules with the runtime's options (``use_decimal=False`` and its
    ``Decimal`` default, ``allow_nan``, ``namedtuple_as_object``, ``tuple_as_array``,
    bytes decoded as UTF-8, circular references detected), writing compact text.

    One Python frame per level of nesting, so that results nested about as deep as the
    runtime's C encoder takes (the interpreter's recursion limit) are written too.
    """

    __slots__ = ("_active", "_out")

    def __init__(self, out: list[str]) -> None:
        self._out = out
        self._active: set[int] = set()  # containers being written: a circle's tell

    def encode(self, o: Any) -> None:
        out = self._out
        write = _EXACT.get(type(o))
        if write is not None:  # the common types first, by exact type
            out.append(write(o))
        elif isinstance(o, str):
            out.append(_string(o))
        elif isinstance(o, bytes):
            out.append(_string(o.decode()))
        elif isinstance(o, int):  # bool and None are exact types: written above
            out.append(int.__repr__(o))
        elif isinstance(o, float):
            out.append(_number(o))
        elif (as_dict := _call_asdict(o)) is not None:
            self._enter(o)
            self.encode(as_dict)
            self._active.discard(id(o))
        elif isinstance(o, (list, tuple, dict)):
            if not o:
                out.append("{}" if isinstance(o, dict) else "[]")
                return
            self._enter(o)
            if isinstance(o, dict):
                out.append("{")
                for index, (key, value) in enumerate(o.items()):
                    out.append(f"{',' if index else ''}{_string(_key(key))}:")
                    self.encode(value)
                out.append("}")
            else:
                out.append("[")
                for index, item in enumerate(o):
                    if index:
                        out.append(",")
                    self.encode(item)
                out.append("]")
            self._active.discard(id(o))
        elif isinstance(o, decimal.Decimal):  # the runtime encoder's default
            out.append(_decimal(o))
        elif _is_raw_json(o):  # JSON text the encoder writes as it is
            out.append(o.encoded_json)
        else:
            raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    def _enter(self, o: object) -> None:
        """Mark a container being written; meeting it again inside itself is a circle."""
        marker = id(o)
        if marker in self._active:
            raise ValueError("Circular reference detected")
        self._active.add(marker)


_CONSTANTS = {None: "null", True: "true", False: "false"}


def _is_raw_json(o: object) -> bool:
    """Whether ``o`` is simplejson's ``RawJSON`` (simplejson is the runtime's encoder, not
    faaslib's dependency: known by its class)."""
    kind = type(o)
    return kind.__name__ == "RawJSON" and kind.__module__.startswith("simplejson")


def _decimal(value: decimal.Decimal) -> str:
    """The runtime encoder's ``default`` for a Decimal: the number it spells, NaN as NaN."""
    return "NaN" if value.is_nan() else str(value)


def _call_asdict(o: Any) -> dict[Any, Any] | None:
    """What ``o._asdict()`` returns (simplejson's ``namedtuple_as_object``), if it has one."""
    method = getattr(o, "_asdict", None)
    if not callable(method):
        return None
    try:
        result = method()
    except TypeError:
        return None
    if not isinstance(result, dict):
        raise TypeError(f"_asdict() must return a dict, not {type(result).__name__}")
    return result


def _string(text: str) -> str:
    return _encode_string(str.__str__(text))


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    """An object key as simplejson writes it (``True`` is ``"true"``, ``None`` ``"null"``)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.decode()
    if isinstance(key, float):
        return _number(key)
    if key is True or key is False or key is None:
        return _CONSTANTS[key]
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


#: How the runtime writes a value of each of these exact types.
_EXACT: dict[type, Callable[[Any], str]] = {
    str: _encode_string,
    int: int.__repr__,
    float: _number,
    bool: _CONSTANTS.__getitem__,
    type(None): _CONSTANTS.__getitem__,
    decimal.Decimal: _decimal,
}
