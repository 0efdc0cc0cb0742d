"""``Stream``: an in-memory Kinesis data stream (shards, partition keys, sequence numbers,
retention) that stream event source mappings read in order, shard by shard."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic_core

from .._errors import InvalidParameterValueException
from .._site import FollowsSite
from .._wakeup import sleep_until_woken

if TYPE_CHECKING:
    from .._clock import Clock
    from .._wakeup import Waker

__all__ = ["Stream", "StreamRecord", "utf8"]

_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_HASH_SPACE = 2**128
#: Kinesis sequence numbers are 56-digit decimal strings, increasing within a shard.
_SEQUENCE_BASE = 49_590_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """A record of a shard: what a Kinesis event record carries.

    :ivar shard_id: ``shardId-000000000000``
    :ivar sequence_number: its sequence number (a decimal string, increasing in the shard)
    :ivar partition_key: the key that chose its shard
    :ivar data: the bytes put
    :ivar arrival: when it arrived (the stream's clock, epoch seconds)
    :ivar index: its position in the shard, from 0
    """

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float
    index: int


class Stream(FollowsSite):
    """An in-memory data stream with Kinesis's semantics, usable with or without an invoker.

    A record goes to the shard whose range of the 128-bit MD5 hash key space holds its
    partition key's hash; each shard keeps its records in order, for ``retention`` seconds.
    Records put before an invoker opens are read by it (from ``TRIM_HORIZON``). The
    ``region``, ``account_id`` and ``clock`` not given are those of the first invoker that
    runs the stream; until then ``us-east-1``, ``123456789012`` and real time.

    :param shard_count: shards, 1-500
    :param retention: seconds a record is kept, 24 hours (the default) to 365 days
    """

    def __init__(
        self,
        name: str,
        *,
        shard_count: int = 1,
        retention: float = 86_400,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidParameterValueException(
                f"Stream name {name!r}: 1-128 characters of [a-zA-Z0-9_.-]"
            )
        if (
            isinstance(shard_count, bool)
            or not isinstance(shard_count, int)
            or not (1 <= shard_count <= 500)
        ):
            raise InvalidParameterValueException(f"shard_count must be 1-500, got {shard_count!r}")
        if not 86_400 <= retention <= 31_536_000:
            raise InvalidParameterValueException(
                f"retention must be 86400-31536000 seconds (24 hours to 365 days), got {retention!r}"
            )
        self.name = name
        self.retention = float(retention)
        self._settle(region, account_id, clock)
        self.shard_ids = [f"shardId-{i:012d}" for i in range(shard_count)]
        self._shards: list[list[StreamRecord]] = [[] for _ in range(shard_count)]
        self._trimmed = [0] * shard_count  # records dropped from each shard's start
        self._sequence = itertools.count(1)
        self._waiters: set[Waker] = set()

    @property
    def arn(self) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{self.name}"

    def shard_for(self, partition_key: str) -> int:
        """The index of the shard a partition key goes to.

        :raises ~faaslib.InvalidParameterValueException: the key holds a lone surrogate
        """
        return self._shard(utf8(partition_key, "The partition key"))

    def _shard(self, partition_key: bytes) -> int:
        digest = int.from_bytes(hashlib.md5(partition_key, usedforsecurity=False).digest(), "big")
        return digest * len(self._shards) // _HASH_SPACE

    def put(self, data: Any, partition_key: str) -> StreamRecord:
        """Put a record (bytes; a string as UTF-8; anything else as its JSON).

        :raises ~faaslib.InvalidParameterValueException: an empty or over-256-character
            partition key, data over 1 MiB, or text UTF-8 cannot encode (a lone surrogate) in
            either, or data that cannot be made JSON
        """
        if not isinstance(partition_key, str) or not 1 <= len(partition_key) <= 256:
            raise InvalidParameterValueException("The partition key must be 1-256 characters")
        key = utf8(partition_key, "The partition key")
        if isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
        elif isinstance(data, str):
            body = utf8(data, "A record's data")
        else:
            try:
                body = pydantic_core.to_json(data)
            except pydantic_core.PydanticSerializationError as exc:
                raise InvalidParameterValueException(
                    f"A record's data is not JSON text: {exc}"
                ) from None
        if len(body) > 1_048_576:
            raise InvalidParameterValueException("A record's data must be 1 MiB at most")
        shard = self._shard(key)
        records = self._shards[shard]
        record = StreamRecord(
            self.shard_ids[shard],
            str(_SEQUENCE_BASE + next(self._sequence)),
            partition_key,
            body,
            self.clock.time(),
            self._trimmed[shard] + len(records),
        )
        records.append(record)
        self.wake_readers()
        return record

    def wake_readers(self) -> None:
        """Wake every mapping waiting for a record (to look again); from any thread."""
        for wake in list(self._waiters):
            wake()

    async def wait_for_records(self, *deadlines: tuple[Clock, float]) -> None:
        """Sleep until a record may have been put, or the first ``(clock, time)`` deadline."""
        await sleep_until_woken(self._waiters, *deadlines)

    def read(self, shard: int, index: int, limit: int) -> list[StreamRecord]:
        """Up to ``limit`` records of a shard from position ``index`` on (past retention:
        from the oldest kept)."""
        self._trim(shard)
        records = self._shards[shard]
        start = max(index - self._trimmed[shard], 0)
        return records[start : start + limit]

    def end(self, shard: int) -> int:
        """The position after a shard's last record (where ``LATEST`` starts)."""
        return self._trimmed[shard] + len(self._shards[shard])

    def position_at(self, shard: int, time: float) -> int:
        """The position of a shard's first record that arrived at ``time`` or later."""
        self._trim(shard)
        records = self._shards[shard]
        offset = bisect.bisect_left([r.arrival for r in records], time)
        return self._trimmed[shard] + offset

    def _trim(self, shard: int) -> None:
        records = self._shards[shard]
        horizon = self.clock.time() - self.retention
        gone = 0
        while gone < len(records) and records[gone].arrival < horizon:
            gone += 1
        if gone:
            del records[:gone]
            self._trimmed[shard] += gone

    def __len__(self) -> int:
        """Records kept, over all shards."""
        for shard in range(len(self._shards)):
            self._trim(shard)
        return sum(len(records) for records in self._shards)

    def __repr__(self) -> str:
        return f"<Stream {self.name} shards={len(self._shards)} records={len(self)}>"


def utf8(text: str, what: str) -> bytes:
    """``text`` in UTF-8 (``what`` names it in the error).

    :raises ~faaslib.InvalidParameterValueException: it holds a lone surrogate
    """
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise InvalidParameterValueException(f"{what} is not valid Unicode text") from None
