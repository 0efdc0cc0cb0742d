"""Amazon DynamoDB: ``Table``, an in-memory table whose changes flow into its stream
(DynamoDB Streams); the records Lambda delivers from it, in DynamoDB's attribute-value JSON;
and the ``DynamoDB`` trigger, read by Kinesis's stream mapping."""

from __future__ import annotations

import base64
import copy
import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pydantic_core

from .._errors import InvalidParameterValueException, ValidationException
from .._site import FollowsSite
from .kinesis import Kinesis, Stream
from .records import b64, records_event_json

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import Site
    from .kinesis import StreamRecord

__all__ = [
    "STREAM_LABEL",
    "ChangeStream",
    "DynamoDB",
    "DynamoDBEventName",
    "StreamViewType",
    "Table",
    "dynamodb_record",
    "from_attribute_value",
    "size_bytes",
    "to_attribute_value",
]

DynamoDBEventName = Literal["INSERT", "MODIFY", "REMOVE"]
StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
_json = pydantic_core.to_json

_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
#: The label of a table's stream, in its ARN (``.../stream/<label>``).
STREAM_LABEL = "2026-01-01T00:00:00.000"
_VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")


class ChangeStream(Stream):
    """A table's stream of changes (DynamoDB Streams): one shard, 24 hours of records. It
    has its table's site (region, account id, clock) and follows an invoker with it."""

    def __init__(self, table: Table, view_type: StreamViewType) -> None:
        region, account_id, clock = table._given
        super().__init__(f"{table.name}-stream", region=region, account_id=account_id, clock=clock)
        self.table = table
        self.view_type = view_type
        self.label = STREAM_LABEL

    @property
    def arn(self) -> str:
        return f"{self.table.arn}/stream/{self.label}"

    def follow(self, site: Site) -> None:
        self.table.follow(site)

    batch_info = "DDBStreamBatchInfo"

    def event_writer(self, role_arn: str) -> Callable[[list[StreamRecord]], bytes]:
        """What writes the event of a batch of the table's changes: DynamoDB Streams records
        (which carry no execution role)."""

        def event(batch: list[StreamRecord]) -> bytes:
            return records_event_json(_json(self.change_record(r)) for r in batch)

        return event

    def filterable(self, record: StreamRecord) -> dict[str, Any]:
        """A change as Lambda's filter criteria see it: the record as it is delivered."""
        return self.change_record(record)

    def change_record(self, record: StreamRecord) -> dict[str, Any]:
        """A change put on this stream as a DynamoDB Streams record."""
        change = pydantic_core.from_json(record.data)
        images = {
            part: {k: from_attribute_value(v) for k, v in change[part].items()}
            for part in ("Keys", "NewImage", "OldImage")
            if part in change
        }
        return dynamodb_record(
            event_name=change["eventName"],
            keys=images["Keys"],
            new_image=images.get("NewImage"),
            old_image=images.get("OldImage"),
            sequence_number=record.sequence_number,
            size_bytes=change["SizeBytes"],
            stream_view_type=self.view_type,
            time=record.arrival,
            stream_arn=self.arn,
            region=self.region,
        )


class Table(FollowsSite):
    """An in-memory table of items by key, with DynamoDB's change stream.

    Every ``put``, ``update`` and ``delete`` that changes an item puts an ``INSERT``,
    ``MODIFY`` or ``REMOVE`` change on :attr:`stream`, carrying ``Keys`` and the images the
    ``stream_view_type`` asks for, in DynamoDB's attribute-value JSON; a
    :class:`~faaslib.DynamoDB` trigger consumes it like any stream.

    :param name: 3-255 characters of ``[a-zA-Z0-9_.-]``
    :param partition_key: the name of the partition key attribute
    :param sort_key: the name of the sort key attribute, if any
    :param stream_view_type: ``NEW_AND_OLD_IMAGES`` (default), ``NEW_IMAGE``, ``OLD_IMAGE``
        or ``KEYS_ONLY``
    :param region: its region (default: the first invoker's that runs it, until then
        ``us-east-1``)
    :param account_id: its account id (default: likewise the invoker's, else
        ``123456789012``)
    :param clock: the clock its stream stamps changes with (default: likewise the
        invoker's, else real time)
    """

    def __init__(
        self,
        name: str,
        *,
        partition_key: str,
        sort_key: str | None = None,
        stream_view_type: StreamViewType = "NEW_AND_OLD_IMAGES",
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidParameterValueException(
                f"Table name {name!r}: 3-255 characters of [a-zA-Z0-9_.-]"
            )
        if stream_view_type not in _VIEW_TYPES:
            raise ValidationException(
                "streamStreamViewType",
                stream_view_type,
                "Member must satisfy enum value set: [" + ", ".join(_VIEW_TYPES) + "]",
            )
        self.name = name
        self.partition_key = partition_key
        self.sort_key = sort_key
        self._settle(region, account_id, clock)
        self._items: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.stream = ChangeStream(self, stream_view_type)

    @property
    def arn(self) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{self.name}"

    def follow(self, site: Site) -> None:
        if not self._followed:
            super().follow(site)
            FollowsSite.follow(self.stream, site)  # not ChangeStream.follow: it comes here

    def _key(self, item: Mapping[str, Any]) -> tuple[Any, ...]:
        names = (
            (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)
        )
        try:
            return tuple(item[name] for name in names)
        except KeyError as exc:
            raise ValidationException(
                "key", dict(item), f"The provided key element does not match the schema: {exc}"
            ) from None

    def _keys(self, item: Mapping[str, Any]) -> dict[str, Any]:
        names = (
            (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)
        )
        return {name: item[name] for name in names}

    def put(self, item: Mapping[str, Any]) -> None:
        """Store an item (replacing the one with its key).

        :raises ~faaslib.ValidationException: no key, or a value of no DynamoDB type or with
            text UTF-8 cannot encode (nothing is stored)
        """
        new = copy.deepcopy(dict(item))
        key = self._key(new)
        old = self._items.get(key)
        if old != new:  # its change first: an item the stream cannot carry is not stored
            self._change("INSERT" if old is None else "MODIFY", new, old, new)
        self._items[key] = new

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item with this key (a copy), or ``None``."""
        item = self._items.get(self._key(key))
        return None if item is None else copy.deepcopy(item)

    def update(self, key: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        """Set attributes of an item (creating it if missing); return the new item.

        :raises ~faaslib.ValidationException: ``changes`` touches a key attribute, or the new
            item cannot be stored (see :meth:`put`)
        """
        if set(changes) & set(self._keys(key)):
            raise ValidationException(
                "updateExpression", dict(changes), "Cannot update attribute: it is part of the key"
            )
        old = self._items.get(self._key(key))
        new = {
            **(copy.deepcopy(old) if old is not None else dict(key)),
            **copy.deepcopy(dict(changes)),
        }
        self.put(new)
        return copy.deepcopy(new)

    def delete(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        """Delete an item; return it (``None`` if there was none)."""
        old = self._items.pop(self._key(key), None)
        if old is not None:
            self._change("REMOVE", old, old, None)
        return old

    def scan(self) -> list[dict[str, Any]]:
        """Every item (copies)."""
        return [copy.deepcopy(item) for item in self._items.values()]

    def _change(
        self,
        name: str,
        keyed: dict[str, Any],
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> None:
        view = self.stream.view_type
        change: dict[str, Any] = {"eventName": name, "Keys": self._keys(keyed)}
        if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            change["NewImage"] = new
        if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            change["OldImage"] = old
        try:
            change["SizeBytes"] = size_bytes(new or old or {})
            data = pydantic_core.to_json(_encodable(change))
            key = pydantic_core.to_json(self._keys(keyed))
        except (TypeError, ValueError) as exc:  # no DynamoDB type, or not UTF-8 text
            raise ValidationException("item", keyed, str(exc)) from None
        # The record's partition key keeps an item's changes in one lane of a mapping: a key
        # over Kinesis's 256 characters (DynamoDB's go to 3 KB) is represented by its MD5.
        if len(key) > 256:
            key = hashlib.md5(key, usedforsecurity=False).hexdigest().encode()
        self.stream.put(data, key.decode())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<Table {self.name} items={len(self._items)}>"


def _encodable(change: dict[str, Any]) -> dict[str, Any]:
    """The change with its items in attribute-value JSON (they may hold sets, bytes, ...)."""
    out = dict(change)
    for part in ("Keys", "NewImage", "OldImage"):
        if part in out:
            out[part] = {k: to_attribute_value(v) for k, v in out[part].items()}
    return out


# -- Records -----------------------------------------------------------------------------------

_CARRIES_NEW = frozenset({"NEW_IMAGE", "NEW_AND_OLD_IMAGES"})
_CARRIES_OLD = frozenset({"OLD_IMAGE", "NEW_AND_OLD_IMAGES"})


def dynamodb_record(
    *,
    event_name: DynamoDBEventName,
    keys: Mapping[str, Any],
    sequence_number: str,
    size_bytes: int,
    stream_view_type: StreamViewType,
    time: float,
    stream_arn: str,
    region: str,
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    expired_by_ttl: bool = False,
) -> dict[str, Any]:
    """One record of a DynamoDB Streams event source mapping's event.

    ``keys`` and the images are items of plain Python values (see :func:`to_attribute_value`);
    the record carries only the images ``stream_view_type`` does, and only those given
    (``INSERT`` has no old image, ``REMOVE`` no new one). ``time`` becomes
    ``ApproximateCreationDateTime``, rounded down to the second. ``event_id`` defaults to a
    hash of the stream and sequence number. A ``REMOVE`` done by TTL (``expired_by_ttl``)
    carries DynamoDB's service ``userIdentity``.
    """
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": float(math.floor(time)),
        "Keys": _to_item(keys),
    }
    if new_image is not None and stream_view_type in _CARRIES_NEW:
        change["NewImage"] = _to_item(new_image)
    if old_image is not None and stream_view_type in _CARRIES_OLD:
        change["OldImage"] = _to_item(old_image)
    change["SequenceNumber"] = sequence_number
    change["SizeBytes"] = size_bytes
    change["StreamViewType"] = stream_view_type
    if event_id is None:
        key = f"{stream_arn}/{sequence_number}".encode()
        event_id = hashlib.md5(key, usedforsecurity=False).hexdigest()
    record: dict[str, Any] = {
        "eventID": event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }
    if expired_by_ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def size_bytes(item: Mapping[str, Any]) -> int:
    """A change's ``SizeBytes``: the length of its item's attribute values in JSON.

    :raises TypeError: for a value of no DynamoDB type
    :raises ValueError: for a value DynamoDB cannot hold
    """
    return sum(len(pydantic_core.to_json(to_attribute_value(v))) for v in item.values())


def _to_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_attribute_value(value) for name, value in item.items()}


_MAX_DIGITS = 38
_MAX_ADJUSTED = 125  # DynamoDB numbers lie within 1E-130 and 9.99...E+125 in magnitude
_MIN_ADJUSTED = -130


def _number(value: float | Decimal) -> str:
    """A number as DynamoDB returns it: plain notation, no leading or trailing zeros."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"DynamoDB numbers are finite, not {value!r}")
    if number.is_zero():
        return "0"
    if not _MIN_ADJUSTED <= number.adjusted() <= _MAX_ADJUSTED:
        raise ValueError(f"{value!r} is out of DynamoDB's number range")
    # Exact: a context as precise as the number itself rounds nothing away.
    number = number.normalize(Context(prec=len(number.as_tuple().digits)))
    if len(number.as_tuple().digits) > _MAX_DIGITS:
        raise ValueError(f"{value!r} has more digits than DynamoDB's 38")
    return f"{number:f}"


def to_attribute_value(value: object) -> dict[str, Any]:
    """A Python value in DynamoDB's attribute-value JSON.

    ``None`` → ``NULL``, ``bool`` → ``BOOL``, ``str`` → ``S``, ``int``/``float``/``Decimal``
    → ``N`` (a string, normalised as DynamoDB returns numbers), bytes → ``B`` (base64), a
    mapping → ``M``, a list or tuple → ``L``, a non-empty set of strings, numbers or bytes →
    ``SS``, ``NS`` or ``BS`` (sorted).

    :raises TypeError: for a value of no DynamoDB type, or a set mixing types
    :raises ValueError: for an empty set, or a number DynamoDB cannot hold
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": _number(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"B": b64(value)}
    if isinstance(value, Mapping):
        return {"M": {_name(k): to_attribute_value(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute_value(v) for v in value]}
    if isinstance(value, AbstractSet):
        return _set(value)
    raise TypeError(f"{type(value).__name__} has no DynamoDB type")


def _name(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"DynamoDB map keys are strings, not {type(key).__name__}")
    return key


def _set(values: AbstractSet[Any]) -> dict[str, list[str]]:
    if not values:
        raise ValueError("DynamoDB sets are not empty")
    if all(isinstance(v, str) for v in values):
        return {"SS": sorted(values)}
    if all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in values):
        return {"NS": [_number(v) for v in sorted(values)]}
    if all(isinstance(v, (bytes, bytearray, memoryview)) for v in values):
        return {"BS": [b64(v) for v in sorted(bytes(v) for v in values)]}
    raise TypeError("a DynamoDB set holds only strings, only numbers or only bytes")


def from_attribute_value(value: Mapping[str, Any]) -> Any:
    """The Python value of DynamoDB attribute-value JSON (the inverse of
    :func:`to_attribute_value`): numbers come back as :class:`~decimal.Decimal`, binary as
    bytes, sets as :class:`set`.

    :raises ValueError: unless ``value`` has exactly one key, a DynamoDB type
    """
    if len(value) != 1:
        raise ValueError(f"an attribute value has one type key, not {sorted(value)}")
    [(kind, data)] = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return Decimal(data)
    if kind == "B":
        return base64.b64decode(data)
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute_value(v) for k, v in data.items()}
    if kind == "L":
        return [from_attribute_value(v) for v in data]
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {Decimal(v) for v in data}
    if kind == "BS":
        return {base64.b64decode(v) for v in data}
    raise ValueError(f"{kind!r} is not a DynamoDB type")


# -- Trigger -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DynamoDB(Kinesis):
    """An event source mapping on a :class:`~faaslib.Table`'s change stream (SAM's
    ``DynamoDB`` event): batches of DynamoDB Streams records, in order per item key.

    It takes the options of :class:`Kinesis` (but ``starting_position`` is ``TRIM_HORIZON``
    or ``LATEST``); pass the table (or its ``stream``) first. Filter patterns see the record,
    e.g. ``{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}``.
    """

    faas_trigger: ClassVar[str] = "datasource"

    stream: ChangeStream

    if TYPE_CHECKING:
        # The generated ``__init__`` takes a Table too (``__post_init__`` swaps in its stream),
        # which the inherited field type cannot say: this is the signature type checkers see.
        # tests/test_table_stream.py checks that it matches the dataclass's fields and defaults.
        def __init__(
            self,
            stream: Table | ChangeStream,
            starting_position: str = "TRIM_HORIZON",
            starting_position_timestamp: float | None = None,
            batch_size: int = 100,
            maximum_batching_window: float = 0,
            parallelization_factor: int = 1,
            bisect_batch_on_function_error: bool = False,
            maximum_retry_attempts: int = -1,
            maximum_record_age: int = -1,
            on_failure: Any = None,
            function_response_types: Sequence[str] = (),
            filter_criteria: Sequence[Mapping[str, Any] | str] | None = None,
            enabled: bool = True,
            *,
            implicit_permission: bool = True,
        ) -> None: ...

    def __post_init__(self) -> None:
        source: object = self.stream
        if isinstance(source, Table):
            object.__setattr__(self, "stream", source.stream)
        elif not isinstance(source, ChangeStream):
            raise ValidationException("stream", source, "Member must be a faaslib.Table")
        if self.starting_position == "AT_TIMESTAMP":
            raise ValidationException(
                "startingPosition",
                self.starting_position,
                "Member must satisfy enum value set: [TRIM_HORIZON, LATEST]",
            )
        super().__post_init__()
