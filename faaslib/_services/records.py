"""What the services' events share: the ``{"Records": [...]}`` envelope, written record by
record, and the small encoders their record shapes use.

Each service's module builds its own records (pure builders of plain dicts and lists, ready
for JSON, with Lambda's exact field names, casing and value types; times are epoch seconds
the caller read from its clock).
"""

from __future__ import annotations

import base64
import datetime
import io
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pydantic_core

from .._errors import InvalidParameterValueException

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = [
    "MessageAttributes",
    "RecordsEventWriter",
    "b64",
    "binary_value",
    "json_literal",
    "records_event",
    "records_event_json",
    "utc",
    "utf8",
]


#: Message attributes as SQS's SendMessage and SNS's Publish take them: each a ``DataType``
#: (``String``, ``Number`` or ``Binary``, with an optional ``.custom`` suffix) and a
#: ``StringValue``, or a ``BinaryValue`` (bytes, or base64 text).
MessageAttributes: TypeAlias = Mapping[str, Mapping[str, str | bytes]]


def utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def b64(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(data).decode("ascii")


def records_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The event around a batch of records: ``{"Records": [...]}``.

    SQS, S3, SNS, Kinesis and DynamoDB Streams events all have this shape (S3 and SNS send one
    record per invocation).
    """
    return {"Records": list(records)}


def records_event_json(records: Iterable[bytes]) -> bytes:
    """:func:`records_event`'s JSON, from records already encoded (as the SQS and Kinesis
    record encoders write them), taken one at a time."""
    writer = RecordsEventWriter()
    for record in records:
        writer.add(record)
    return writer.event()


class RecordsEventWriter:
    """A ``{"Records": [...]}`` event's JSON, written one encoded record at a time.

    A batch of a thousand records is half a megabyte: written as they come into one
    ``BytesIO`` (whose ``getvalue`` hands over its buffer uncopied), no record's JSON outlives
    its ``add`` and no buffer is regrown and copied, which kept big batches churning memory.
    """

    __slots__ = ("_buffer", "_write", "count")

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._write = self._buffer.write
        self._write(b'{"Records":[')
        self.count = 0

    def add(self, record: bytes) -> None:
        self._write(record)
        self._write(b",")
        self.count += 1

    def size_with(self, record: bytes) -> int:
        """The length of the event were ``record`` added last."""
        return self._buffer.tell() + len(record) + 2

    def event(self) -> bytes:
        """The event's JSON; the writer is finished."""
        if self.count:
            self._buffer.seek(-1, io.SEEK_CUR)  # the comma after the last record
        self._write(b"]}")
        return self._buffer.getvalue()


def json_literal(text: str) -> bytes:
    """``text`` as JSON, to splice into a ``%``-format template."""
    return pydantic_core.to_json(text).replace(b"%", b"%%")


def binary_value(value: bytes | bytearray | memoryview | str) -> bytes:
    """A ``BinaryValue``'s bytes: bytes as they are, a string as base64 to decode."""
    return base64.b64decode(value, validate=True) if isinstance(value, str) else bytes(value)


def utf8(text: str, what: str) -> bytes:
    """``text`` in UTF-8 (``what`` names it in the error).

    :raises ~faaslib.InvalidParameterValueException: it holds a lone surrogate
    """
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise InvalidParameterValueException(f"{what} is not valid Unicode text") from None
