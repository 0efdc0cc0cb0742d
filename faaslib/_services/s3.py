"""Amazon S3: ``Bucket``, an in-memory object store whose changes notify the functions
subscribed to it; the event notification records; and the ``S3`` trigger (push model)."""

from __future__ import annotations

import hashlib
import itertools
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .._destinations import timestamp
from .._errors import InvalidParameterValueException, ResourceNotFoundException
from .push import PushSource, PushTrigger
from .records import b64, records_event, utf8

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import Site

__all__ = ["S3", "Bucket", "s3_record"]

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_S3_EVENTS = (
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
)


class Bucket(PushSource):
    """An in-memory object store whose changes notify subscribed functions, as S3 does.

    ``put`` emits ``s3:ObjectCreated:Put`` and ``delete`` ``s3:ObjectRemoved:Delete`` to each
    :class:`S3` trigger whose event names and key filters match.
    """

    def __init__(
        self,
        name: str,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not _BUCKET.fullmatch(name):
            raise InvalidParameterValueException(
                f"Bucket name {name!r}: 3-63 characters of a-z, 0-9, '.' and '-'"
            )
        super().__init__(region, account_id, clock)
        self.name = name
        self._objects: dict[str, bytes] = {}
        self._sequence = itertools.count(1)

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"

    def put(self, key: str, data: bytes | str) -> str:
        """Store an object (replacing any) and return its ETag.

        :raises ~faaslib.InvalidParameterValueException: the key, or ``data`` as a string,
            holds text UTF-8 cannot encode (a lone surrogate)
        """
        utf8(key, "The object key")
        body = utf8(data, "The object's data") if isinstance(data, str) else bytes(data)
        self._objects[key] = body
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        self._notify("ObjectCreated:Put", key, len(body), etag)
        return etag

    def get(self, key: str) -> bytes:
        """:raises ~faaslib.ResourceNotFoundException: no such key"""
        try:
            return self._objects[key]
        except KeyError:
            raise ResourceNotFoundException(f"NoSuchKey: {key}") from None

    def delete(self, key: str) -> None:
        """Delete an object (deleting a missing key is not an error, as in S3)."""
        self._objects.pop(key, None)
        self._notify("ObjectRemoved:Delete", key, None, None)

    def list(self, prefix: str = "") -> list[str]:
        """The keys starting with ``prefix``, sorted."""
        return sorted(k for k in self._objects if k.startswith(prefix))

    def _notify(self, event_name: str, key: str, size: int | None, etag: str | None) -> None:
        wanting = [t for t in self._subscribers if isinstance(t, S3) and t.wants(event_name, key)]
        if not wanting:
            return
        sent_at = self._sent_at()
        sequencer = f"{next(self._sequence):016X}"

        def event() -> dict[str, Any]:
            record = s3_record(
                event_name=event_name,
                time=self.clock.time() if sent_at is None else sent_at,
                region=self.region,
                bucket=self.name,
                key=key,
                sequencer=sequencer,
                size=size,
                etag=etag,
            )
            return records_event([record])

        for trigger in wanting:
            trigger.emit(event)

    def __repr__(self) -> str:
        return f"<Bucket {self.name} objects={len(self._objects)}>"


@dataclass(frozen=True, eq=False)
class S3(PushTrigger):
    """Invoke the function (invocation type Event) when objects of a :class:`Bucket` change
    (SAM's ``S3`` event).

    :param bucket: the bucket
    :param events: S3 event names, ``s3:ObjectCreated:*`` (default), ``s3:ObjectCreated:Put``,
        ``s3:ObjectRemoved:*`` or ``s3:ObjectRemoved:Delete``
    :param prefix: only keys starting with it (S3's ``prefix`` filter rule)
    :param suffix: only keys ending with it (S3's ``suffix`` filter rule)
    """

    faas_trigger: ClassVar[str] = "datasource"

    bucket: Bucket
    events: Sequence[str] = ("s3:ObjectCreated:*",)
    prefix: str = ""
    suffix: str = ""

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        return "s3.amazonaws.com", self.bucket.arn

    def __post_init__(self) -> None:
        if not isinstance(self.bucket, Bucket):
            raise InvalidParameterValueException("S3 trigger needs a faaslib.Bucket")
        names = (self.events,) if isinstance(self.events, str) else tuple(self.events)
        for name in names:
            if name not in _S3_EVENTS:
                raise InvalidParameterValueException(
                    f"The event is not supported for notifications: {name}"
                )
        object.__setattr__(self, "events", names)

    @property
    def source(self) -> Bucket:
        return self.bucket

    def wants(self, event_name: str, key: str) -> bool:
        kind = event_name.split(":", 1)[0]
        return (
            any(name in (f"s3:{event_name}", f"s3:{kind}:*") for name in self.events)
            and key.startswith(self.prefix)
            and key.endswith(self.suffix)
        )


# -- Records -----------------------------------------------------------------------------------


def s3_record(
    *,
    event_name: str,
    time: float,
    region: str,
    bucket: str,
    key: str,
    sequencer: str,
    size: int | None = None,
    etag: str | None = None,
    version_id: str | None = None,
    principal_id: str = "AWS:AIDAFAASLIBEXAMPLEID",
    bucket_owner_id: str = "A3FAASLIBEXAMPLE",
    source_ip: str = "127.0.0.1",
    request_id: str = "C3D13FE58DE4C810",
    configuration_id: str = "faaslib",
) -> dict[str, Any]:
    """One record of an S3 event notification.

    ``event_name`` is as Lambda gets it, without ``s3:`` (``"ObjectCreated:Put"``,
    ``"ObjectRemoved:Delete"``). ``key`` is the object's key as stored; the record carries it
    URL-encoded as S3 does (``"my file.txt"`` becomes ``"my+file.txt"``; ``/`` stays).
    ``size`` and ``etag`` are left out when ``None`` (object removals); ``version_id`` too
    (unversioned buckets). ``principal_id`` is the requester, ``bucket_owner_id`` the bucket
    owner's id, ``configuration_id`` the notification configuration's name.
    """
    obj: dict[str, Any] = {"key": urllib.parse.quote_plus(key, safe="/")}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    if version_id is not None:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    host_id = b64(hashlib.sha512(request_id.encode()).digest()[:57])  # x-amz-id-2's form
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": timestamp(time),
        "eventName": event_name,
        "userIdentity": {"principalId": principal_id},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": bucket_owner_id},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }
