"""``Table``: a minimal in-memory DynamoDB table whose changes flow into a stream."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pydantic_core

from .._errors import InvalidParameterValueException, ValidationException
from .._site import FollowsSite
from .shapes import StreamViewType, to_attribute_value
from .stream import Stream

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import Site

__all__ = ["ChangeStream", "Table"]

_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
_VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")


class ChangeStream(Stream):
    """A table's stream of changes (DynamoDB Streams): one shard, 24 hours of records. It
    has its table's site (region, account id, clock) and follows an invoker with it."""

    def __init__(self, table: Table, view_type: StreamViewType) -> None:
        region, account_id, clock = table._given
        super().__init__(f"{table.name}-stream", region=region, account_id=account_id, clock=clock)
        self.table = table
        self.view_type = view_type
        self.label = "2026-01-01T00:00:00.000"

    @property
    def arn(self) -> str:
        return f"{self.table.arn}/stream/{self.label}"

    def follow(self, site: Site) -> None:
        self.table.follow(site)


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
            change["SizeBytes"] = sum(
                len(pydantic_core.to_json(to_attribute_value(v)))
                for v in (new or old or {}).values()
            )
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
