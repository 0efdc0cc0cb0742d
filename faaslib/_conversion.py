"""JSON payloads to typed events and handler results back to JSON bytes, through pydantic.

One :class:`~pydantic.TypeAdapter` is cached per type (keyed by the type itself). Events are
validated straight from bytes (``validate_json``): there is no intermediate ``dict``, and a
Python object passed as payload is serialised first, so the handler never shares an object
with the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_origin

import pydantic_core
from pydantic import PydanticUndefinedAnnotation, PydanticUserError, TypeAdapter, ValidationError

from ._errors import InvalidRequestContentException, RequestTooLargeException, ValidationException

__all__ = [
    "adapter_for",
    "check_size",
    "event_decoder",
    "payload_bytes",
    "result_encoder",
    "type_name",
]

_adapters: dict[Any, TypeAdapter[Any]] = {}

EventDecoder = Callable[[bytes], Any]
ResultEncoder = Callable[[Any], bytes]


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

    :raises ~faaslib.RequestTooLargeException: ``data`` is over ``limit`` bytes
    """
    size = len(data)
    if size <= limit:
        return
    if sync:
        message = f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
    else:
        message = (
            f"{size} byte payload is too large for the Event invocation type (limit {limit} bytes)"
        )
    raise RequestTooLargeException(message, function_name=function_name, size=size, limit=limit)


#: Event types meaning "any JSON object": decoded by the JSON parser alone.
_JSON_OBJECT: tuple[Any, ...] = (dict, dict[str, Any])


def event_decoder(event_type: Any, function_name: str) -> EventDecoder:
    """Return a function turning JSON bytes into the handler's event type.

    The decoder raises :class:`~faaslib.InvalidRequestContentException` for bytes that are not
    JSON, and for JSON that does not validate (listing pydantic's error locations).
    """
    validate = adapter_for(event_type).validate_json
    expected = type_name(event_type)

    def decode(data: bytes) -> Any:
        try:
            return validate(data)
        except ValidationError as exc:
            raise _request_content_error(exc, expected, function_name) from None

    if event_type is Any or event_type in _JSON_OBJECT:
        # Nothing to validate beyond JSON (an object, for a dict): the parser alone builds
        # the same values, without the validator's cost per value (a third, on big batches).
        # Caching only keys: record values (ids, sequence numbers) rarely repeat, and looking
        # each up costs a sixth of a batch's parse.
        want_object = event_type is not Any
        parse = pydantic_core.from_json

        def decode_json(data: bytes) -> Any:
            try:
                value = parse(data, cache_strings="keys")
            except ValueError:
                return decode(data)  # raises the validator's own error
            if want_object and type(value) is not dict:
                return decode(data)
            return value

        return decode_json
    return decode


def _request_content_error(
    exc: ValidationError, expected: str, function_name: str
) -> InvalidRequestContentException:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        message = f"Could not parse request body into json: {errors[0]['msg']}"
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

    Without a return annotation (or with ``Any``, ``object`` or ``None``) the result is
    serialised as it is; with one, the annotation drives serialisation, and a result that does
    not fit it is an error (:class:`pydantic_core.PydanticSerializationError`).
    """
    if return_type in (None, Any, object, type(None)):
        return pydantic_core.to_json
    dump = adapter_for(return_type).dump_json

    def encode(result: Any) -> bytes:
        return dump(result, warnings="error")

    return encode
