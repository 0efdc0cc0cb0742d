"""AWS CloudFormation custom resources: ``CustomResourceStack``, a stack whose custom resources
(``AWS::CloudFormation::CustomResource``, ``Custom::<Name>``) are created, updated and deleted
by a function, as CloudFormation drives a ``ServiceToken`` function.

The stack invokes the function asynchronously (invocation type Event, as CloudFormation
does) with CloudFormation's request, and waits for the function to PUT its response to the
request's ``ResponseURL``: a presigned-URL-like address of a small HTTP server the stack runs
on ``127.0.0.1`` (a stand-in for the S3 object CloudFormation reads), so code that answers
with ``urllib3`` or ``urllib``, as AWS's ``cfnresponse`` module does, runs unchanged.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import math
import re
import secrets
import threading
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

import anyio
import pydantic_core
from anyio import CancelScope
from typing_extensions import Self

from .._arn import function_arn, parse_function_ref
from .._errors import (
    FaaslibError,
    InvalidParameterValueException,
    TemplateError,
    ValidationException,
)
from .._ids import new_request_id
from .._site import FollowsSite
from .._wakeup import Waker, waker

if TYPE_CHECKING:
    from .._clock import Clock
    from .._triggers import Invokes as Invoker

__all__ = [
    "DEFAULT_RESOURCE_TYPE",
    "CustomResource",
    "CustomResourceFailed",
    "CustomResourceStack",
    "StackEvent",
    "cloudformation_custom_resource",
    "custom_resource_request",
]

logger = logging.getLogger("faaslib")

RequestType = Literal["Create", "Update", "Delete"]

DEFAULT_RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"
#: CloudFormation's custom resource timeout (``ServiceTimeout``'s default and maximum).
DEFAULT_TIMEOUT = 3600
MAX_RESPONSE_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024
_STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
_LOGICAL_ID = re.compile(r"[a-zA-Z0-9]{1,255}")
_CUSTOM_TYPE = re.compile(r"Custom::[a-zA-Z0-9_@-]{1,52}")
_REQUIRED = ("StackId", "RequestId", "LogicalResourceId")
_VERBS: dict[str, str] = {"Create": "CREATE", "Update": "UPDATE", "Delete": "DELETE"}
_NO_RESPONSE = (
    "CloudFormation did not receive a response from your Custom Resource. Please check your "
    "logs for requestId [{request_id}]. If you are using the Python cfn-response module, you "
    "may need to update your Lambda function code so that CloudFormation can attach the "
    "updated version."
)


class CustomResourceFailed(FaaslibError):
    """A custom resource's Create, Update or Delete failed, as CloudFormation reports it in the
    resource's status (``CREATE_FAILED`` ...): the function answered ``FAILED``, answered
    something CloudFormation cannot read, never answered in time, or could not be invoked.

    :ivar logical_id: the resource's logical id
    :ivar request_type: ``Create``, ``Update`` or ``Delete``
    :ivar status: the resource status, e.g. ``CREATE_FAILED``
    :ivar reason: CloudFormation's status reason (``Received response status [FAILED] from
        custom resource. Message returned: <Reason> (RequestId: ...)``)
    :ivar response: the function's response document, when it sent a readable one
    """

    error_type = "CustomResourceFailed"
    status_code = 400
    fault = "User"

    def __init__(
        self,
        logical_id: str,
        request_type: str,
        reason: str,
        response: dict[str, Any] | None = None,
    ) -> None:
        self.status = f"{_VERBS[request_type]}_FAILED"
        super().__init__(f"{logical_id} {self.status}: {reason}")
        self.logical_id = logical_id
        self.request_type = request_type
        self.reason = reason
        self.response = response


@dataclass(frozen=True)
class CustomResource:
    """A custom resource the stack holds: what its function last answered with success.

    ``physical_resource_id`` is what ``Ref`` gives; ``data`` the attributes ``Fn::GetAtt``
    reads (see :meth:`CustomResourceStack.get_att`); ``properties`` the
    ``ResourceProperties`` last sent, ``ServiceToken`` included.
    """

    logical_id: str
    resource_type: str
    service_token: str
    physical_resource_id: str
    properties: Mapping[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)
    no_echo: bool = False


@dataclass(frozen=True)
class StackEvent:
    """One of the stack's events, as ``DescribeStackEvents`` lists them."""

    logical_resource_id: str
    physical_resource_id: str
    resource_type: str
    resource_status: str
    resource_status_reason: str | None
    timestamp: float


# -- requests ----------------------------------------------------------------------------------


def custom_resource_request(
    request_type: RequestType,
    *,
    service_token: str,
    response_url: str,
    stack_id: str,
    request_id: str,
    logical_id: str,
    resource_type: str,
    properties: Mapping[str, Any],
    physical_resource_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The request CloudFormation sends a custom resource's function.

    ``properties`` (and ``old_properties``, on Update) are the ``ResourceProperties`` as sent,
    ``ServiceToken`` included. ``PhysicalResourceId`` is sent with Update and Delete,
    ``OldResourceProperties`` with Update.
    """
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
    }
    if request_type != "Create":
        if physical_resource_id is None:
            raise InvalidParameterValueException(
                f"A {request_type} request needs the resource's PhysicalResourceId"
            )
        event["PhysicalResourceId"] = physical_resource_id
    event["ResourceType"] = resource_type
    event["ResourceProperties"] = dict(properties)
    if request_type == "Update":
        event["OldResourceProperties"] = dict(old_properties or {})
    return event


def cloudformation_custom_resource(
    request_type: RequestType = "Create",
    properties: Mapping[str, Any] | None = None,
    *,
    logical_id: str = "MyResource",
    resource_type: str = "Custom::MyResource",
    physical_resource_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
    function_name: str = "custom-resource-provider",
    stack_name: str = "my-stack",
    request_id: str | None = None,
    response_url: str | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """A CloudFormation custom resource request, as the function receives it (for tests).

    Property values are sent as CloudFormation sends them: numbers and booleans as strings.
    Update and Delete get ``physical_resource_id`` (default ``<logical_id>-<request type>``
    of a made-up id); Update's ``old_properties`` default to ``properties``.
    """
    token = function_arn(region, account_id, function_name)
    stack_id = f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/{_stack_uuid()}"
    request_id = request_id or new_request_id()
    sent = _resource_properties(token, properties or {})
    old = _resource_properties(token, old_properties or properties or {})
    if response_url is None:
        response_url = (
            f"https://cloudformation-custom-resource-response-{region.replace('-', '')}"
            f".s3.amazonaws.com/{_object_key(stack_id, logical_id, request_id)}"
        )
    return custom_resource_request(
        request_type,
        service_token=token,
        response_url=response_url,
        stack_id=stack_id,
        request_id=request_id,
        logical_id=logical_id,
        resource_type=resource_type,
        properties=sent,
        physical_resource_id=physical_resource_id or f"{logical_id}-{secrets.token_hex(6)}",
        old_properties=old,
    )


def _stack_uuid() -> str:
    """A stack id's UUID: a version-1 UUID, as CloudFormation's are (random node)."""
    return str(uuid.uuid1(node=secrets.randbits(48)))


def _object_key(stack_id: str, logical_id: str, request_id: str) -> str:
    return urllib.parse.quote(f"{stack_id}|{logical_id}|{request_id}", safe="")


def _as_sent(value: Any) -> Any:
    """A property value as CloudFormation sends it: numbers and booleans become strings
    (``true``/``false``); lists and objects keep their shape."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _as_sent(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_sent(v) for v in value]
    return value


def _resource_properties(service_token: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    if "ServiceToken" in properties:
        raise InvalidParameterValueException(
            "Give the ServiceToken as service_token=, not among the properties"
        )
    return {"ServiceToken": service_token, **_as_sent(dict(properties))}


def _service_timeout(properties: Mapping[str, Any], default: float) -> float:
    """The resource's ``ServiceTimeout`` property (1-3600 seconds), else ``default``."""
    value = properties.get("ServiceTimeout")
    if value is None:
        return default
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= DEFAULT_TIMEOUT:
        raise ValidationException(
            "ServiceTimeout", value, f"Member must be a whole number from 1 to {DEFAULT_TIMEOUT}"
        )
    return float(text)


# -- responses ---------------------------------------------------------------------------------


class _Unreadable(Exception):
    """A response CloudFormation cannot use; the message is its status reason."""


def _read_response(body: bytes) -> dict[str, Any]:
    """The response document a function PUT, checked as CloudFormation checks it.

    :raises _Unreadable: with CloudFormation's reason: too long, not JSON, a bad status, a
        missing or bad physical id, a missing field
    """
    if len(body) > MAX_RESPONSE_BYTES:
        raise _Unreadable("Response object is too long.")
    try:
        response = pydantic_core.from_json(body)
    except ValueError:
        response = None
    if not isinstance(response, dict):
        raise _Unreadable("Response is not valid JSON")
    status = response.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        raise _Unreadable(f"Invalid Response object: '{status}' is not a valid ResponseStatus")
    physical_id = response.get("PhysicalResourceId")
    if (
        not isinstance(physical_id, str)
        or not physical_id
        or len(physical_id.encode()) > MAX_PHYSICAL_ID_BYTES
    ):
        raise _Unreadable("Invalid PhysicalResourceId")
    for name in _REQUIRED:
        if not isinstance(response.get(name), str):
            raise _Unreadable(f"Invalid Response object: {name} is required")
    data = response.get("Data")
    if data is not None and not isinstance(data, dict):
        raise _Unreadable("Invalid Response object: Data must be a JSON object")
    return response


@dataclass(eq=False)
class _Slot:
    """Where the response to one request lands (written by the server's thread)."""

    body: bytes | None = None
    wake: Waker | None = None


class _ResponseBucket:
    """The in-process stand-in for the S3 objects CloudFormation's presigned response URLs
    name: an HTTP server on ``127.0.0.1`` that takes one PUT per request."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="faaslib-cfn-responses",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.shutdown()
            server.server_close()
            thread.join()

    def url(self, key: str, now: float, region: str) -> str:
        """A presigned-URL-like address for the object ``key`` (its signature checked)."""
        assert self._server is not None
        port = self._server.server_address[1]
        path = f"/{urllib.parse.quote(key, safe='')}"
        moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        stamp = f"{moment:%Y%m%dT%H%M%SZ}"
        credential = (
            f"AKIAFAASLIB{secrets.token_hex(4).upper()}/{stamp[:8]}/{region}/s3/aws4_request"
        )
        query = urllib.parse.urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": stamp,
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Expires": "7200",
                "X-Amz-Credential": credential,
                "X-Amz-Signature": self._sign(path),
            }
        )
        return f"http://127.0.0.1:{port}{path}?{query}"

    def _sign(self, path: str) -> str:
        return hmac.new(self._secret, path.encode(), hashlib.sha256).hexdigest()

    def signed(self, path: str, signature: str) -> bool:
        return hmac.compare_digest(self._sign(path), signature)

    def expect(self, key: str) -> _Slot:
        slot = _Slot()
        with self._lock:
            self._slots[key] = slot
        return slot

    def forget(self, key: str) -> None:
        with self._lock:
            self._slots.pop(key, None)

    def put(self, key: str, body: bytes) -> None:
        """A PUT of the object (the server's thread): the first one answers its request."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is None or slot.body is not None:
                return
            slot.body = body
            wake = slot.wake
        if wake is not None:
            wake()

    async def wait(self, slot: _Slot, clock: Clock, deadline: float) -> bytes | None:
        """The response, once PUT; ``None`` if ``deadline`` passes first (on ``clock``)."""
        with CancelScope() as scope:
            with self._lock:
                if slot.body is not None:
                    return slot.body
                slot.wake = waker(scope.cancel)
            await clock.sleep_until(deadline)
        with self._lock:
            slot.wake = None
            return slot.body


def _handler_class(bucket: _ResponseBucket) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        """S3's side of a presigned PUT: a signed URL takes the object, anything else is
        refused with S3's error document."""

        server_version = "AmazonS3"
        sys_version = ""

        def do_PUT(self) -> None:
            path, _, query = self.path.partition("?")
            signature = urllib.parse.parse_qs(query).get("X-Amz-Signature", [""])[0]
            if not bucket.signed(path, signature):
                self._error(
                    403,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated "
                    "does not match the signature you provided.",
                )
                return
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self._error(
                    411, "MissingContentLength", "You must provide the Content-Length HTTP header."
                )
                return
            body = self.rfile.read(int(length))
            bucket.put(urllib.parse.unquote(path[1:]), body)
            self.send_response(200)
            self.send_header("ETag", f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _refuse(self) -> None:
            self._error(403, "AccessDenied", "Access Denied")

        do_GET = do_POST = do_DELETE = do_HEAD = _refuse

        def _error(self, status: int, code: str, message: str) -> None:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("CloudFormation response URL: %s", format % args)

    return _Handler


# -- the stack ---------------------------------------------------------------------------------


class CustomResourceStack(FollowsSite):
    """A CloudFormation stack of custom resources, each backed by a function.

    ``create``, ``update`` and ``delete`` send CloudFormation's request to the resource's
    ``ServiceToken`` function (invocation type Event, as CloudFormation invokes it, so a
    function error is retried as Lambda retries asynchronous events) and wait, on the stack's
    clock, for the response the function PUTs to the request's ``ResponseURL``. A ``FAILED``
    or unreadable response, or none within the timeout, raises
    :class:`CustomResourceFailed` with CloudFormation's status reason. Like faaslib's
    sources, the stack keeps the region, account id and clock it was given and takes the rest
    from the first invoker it runs with.

    The response URLs are served by a small HTTP server on ``127.0.0.1`` that the stack starts
    when first needed and stops on :meth:`close` (or leaving ``with``/``async with``).

    :param name: the stack name (``[a-zA-Z][-a-zA-Z0-9]*``, up to 128 characters)
    :param timeout: seconds to wait for a response (CloudFormation's default, one hour); a
        resource's ``ServiceTimeout`` property (1-3600) overrides it
    :param rollback: a Create answered ``FAILED`` with a physical id is rolled back as
        CloudFormation rolls it back: a Delete of that id (``False``: as
        ``--disable-rollback``)
    """

    def __init__(
        self,
        name: str,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        rollback: bool = True,
    ) -> None:
        if not isinstance(name, str) or not _STACK_NAME.fullmatch(name):
            raise ValidationException(
                "stackName",
                name,
                "Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*",
            )
        if isinstance(timeout, bool) or not (0 < timeout < math.inf):
            raise InvalidParameterValueException(f"timeout must be positive seconds: {timeout!r}")
        self._settle(region, account_id, clock)
        self.name = name
        self.timeout = float(timeout)
        self.rollback = rollback
        self._uuid = _stack_uuid()
        self._resources: dict[str, CustomResource] = {}
        self._events: list[StackEvent] = []
        self._bucket = _ResponseBucket()

    # -- reading -------------------------------------------------------------------------------

    @property
    def stack_id(self) -> str:
        return (
            f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.name}/{self._uuid}"
        )

    @property
    def resources(self) -> Mapping[str, CustomResource]:
        """The resources the stack holds now, by logical id (a read-only view)."""
        return MappingProxyType(self._resources)

    @property
    def events(self) -> list[StackEvent]:
        """The stack's events, oldest first."""
        return list(self._events)

    def resource(self, logical_id: str) -> CustomResource:
        """:raises ~faaslib.TemplateError: the stack has no such resource"""
        try:
            return self._resources[logical_id]
        except KeyError:
            raise TemplateError(
                f"Resource {logical_id} does not exist for stack {self.name}"
            ) from None

    def ref(self, logical_id: str) -> str:
        """``Ref`` of the resource: its physical id."""
        return self.resource(logical_id).physical_resource_id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """``Fn::GetAtt`` of the resource: a key of the ``Data`` its function answered.

        :raises ~faaslib.TemplateError: no such resource, or its ``Data`` has no such key
            (CloudFormation's ``Vendor response doesn't contain <key> key``)
        """
        data = self.resource(logical_id).data
        if attribute not in data:
            raise TemplateError(
                f"CustomResource attribute error: Vendor response doesn't contain {attribute} key"
            )
        return data[attribute]

    # -- operations ----------------------------------------------------------------------------

    async def create(
        self,
        invoker: Invoker,
        logical_id: str,
        *,
        service_token: str,
        properties: Mapping[str, Any] | None = None,
        resource_type: str = DEFAULT_RESOURCE_TYPE,
    ) -> CustomResource:
        """Create a custom resource: send ``Create`` to the ``service_token`` function (a
        name or function ARN) and wait for its response.

        Property values are sent as CloudFormation sends them (numbers and booleans as
        strings), after ``ServiceToken``.

        :raises CustomResourceFailed: the function answered ``FAILED`` (then, with
            ``rollback``, its resource was deleted), answered what CloudFormation cannot
            read, or did not answer within the timeout
        :raises ~faaslib.TemplateError: a bad logical id or resource type, or one the stack
            already holds
        """
        _check_logical_id(logical_id)
        _check_type(resource_type)
        if logical_id in self._resources:
            raise TemplateError(f"Resource {logical_id} already exists in stack {self.name}")
        self.follow(invoker.site)
        token = self._token(service_token)
        sent = _resource_properties(token, properties or {})
        draft = CustomResource(logical_id, resource_type, token, "", sent)
        try:
            answer = await self._send(invoker, "Create", draft)
        except CustomResourceFailed as failure:
            await self._roll_back(invoker, draft, failure)
            raise
        created = _answered(draft, answer)
        self._resources[logical_id] = created
        return created

    async def update(
        self,
        invoker: Invoker,
        logical_id: str,
        *,
        properties: Mapping[str, Any],
        service_token: str | None = None,
        resource_type: str | None = None,
    ) -> CustomResource:
        """Update a custom resource with new ``properties``: send ``Update`` (with the
        resource's ``PhysicalResourceId`` and ``OldResourceProperties``) and wait.

        Unchanged properties send nothing, as CloudFormation updates only what changed. A
        response with another physical id replaces the resource: once the update is done,
        the old one gets a ``Delete`` (with its old properties), as in CloudFormation's
        cleanup phase; a failure there is logged and listed in :attr:`events`, the update
        stands.

        :raises CustomResourceFailed: the update failed (the resource stays as it was)
        :raises ~faaslib.TemplateError: no such resource; a changed service token or type
        """
        current = self.resource(logical_id)
        self.follow(invoker.site)
        if service_token is not None and self._token(service_token) != current.service_token:
            raise TemplateError("Modifying service token is not allowed.")
        if resource_type is not None and resource_type != current.resource_type:
            raise TemplateError(
                "Update of resource type is not permitted. The new template modifies resource "
                f"type of the following resources: [{logical_id}]"
            )
        sent = _resource_properties(current.service_token, properties)
        if sent == dict(current.properties):
            return current
        draft = CustomResource(
            logical_id,
            current.resource_type,
            current.service_token,
            current.physical_resource_id,
            sent,
        )
        answer = await self._send(invoker, "Update", draft, old=current)
        updated = _answered(draft, answer)
        self._resources[logical_id] = updated
        if updated.physical_resource_id != current.physical_resource_id:
            await self._clean_up(invoker, current)
        return updated

    async def delete(self, invoker: Invoker, logical_id: str) -> CustomResource:
        """Delete a custom resource: send ``Delete`` and wait; return what was deleted.

        :raises CustomResourceFailed: the delete failed (the stack still holds the resource)
        :raises ~faaslib.TemplateError: no such resource
        """
        current = self.resource(logical_id)
        self.follow(invoker.site)
        await self._send(invoker, "Delete", current)
        del self._resources[logical_id]
        return current

    # -- the request and its answer ------------------------------------------------------------

    def _token(self, service_token: str) -> str:
        """The service token as CloudFormation sends it: a function's ARN."""
        ref = parse_function_ref(service_token) if isinstance(service_token, str) else None
        if ref is None:
            raise InvalidParameterValueException(
                f"ServiceToken must be a function name or ARN: {service_token!r}"
            )
        if service_token.startswith("arn:"):
            return service_token
        return function_arn(
            ref.region or self.region, ref.account or self.account_id, ref.name, ref.qualifier
        )

    async def _send(
        self,
        invoker: Invoker,
        request_type: RequestType,
        resource: CustomResource,
        *,
        old: CustomResource | None = None,
    ) -> dict[str, Any]:
        """Send one request and wait for its answer; record the resource's events.

        :raises CustomResourceFailed: with CloudFormation's status reason
        """
        verb = _VERBS[request_type]
        self._event(resource, f"{verb}_IN_PROGRESS", None)
        try:
            answer = await self._exchange(invoker, request_type, resource, old)
        except CustomResourceFailed as failure:
            physical_id = (failure.response or {}).get("PhysicalResourceId")
            self._event(resource, f"{verb}_FAILED", failure.reason, physical_id)
            raise
        self._event(resource, f"{verb}_COMPLETE", None, answer["PhysicalResourceId"])
        return answer

    async def _exchange(
        self,
        invoker: Invoker,
        request_type: RequestType,
        resource: CustomResource,
        old: CustomResource | None,
    ) -> dict[str, Any]:
        timeout = _service_timeout(resource.properties, self.timeout)
        self._bucket.start()
        request_id = new_request_id()
        key = f"{self.stack_id}|{resource.logical_id}|{request_id}"
        slot = self._bucket.expect(key)
        try:
            request = custom_resource_request(
                request_type,
                service_token=resource.service_token,
                response_url=self._bucket.url(key, self.clock.time(), self.region),
                stack_id=self.stack_id,
                request_id=request_id,
                logical_id=resource.logical_id,
                resource_type=resource.resource_type,
                properties=resource.properties,
                physical_resource_id=resource.physical_resource_id or None,
                old_properties=None if old is None else old.properties,
            )
            try:
                # As the identity running the stack operation: a principal of the stack's
                # account (its own functions need no AWS::Lambda::Permission).
                await invoker.invoke(
                    resource.service_token, request, "Event", principal=self.account_id
                )
            except FaaslibError as exc:
                raise CustomResourceFailed(
                    resource.logical_id, request_type, f"{exc.error_type}: {exc.message}"
                ) from exc
            body = await self._bucket.wait(slot, self.clock, self.clock.time() + timeout)
        finally:
            self._bucket.forget(key)
        if body is None:
            reason = _NO_RESPONSE.format(request_id=request_id)
            raise CustomResourceFailed(resource.logical_id, request_type, reason)
        try:
            answer = _read_response(body)
        except _Unreadable as unreadable:
            raise CustomResourceFailed(resource.logical_id, request_type, str(unreadable)) from None
        if answer["Status"] == "FAILED":
            reason = (
                "Received response status [FAILED] from custom resource. Message returned: "
                f"{answer.get('Reason', '')} (RequestId: {request_id})"
            )
            raise CustomResourceFailed(resource.logical_id, request_type, reason, answer)
        return answer

    async def _roll_back(
        self, invoker: Invoker, draft: CustomResource, failure: CustomResourceFailed
    ) -> None:
        """After a failed Create that named a physical id: CloudFormation's rollback deletes
        it. A rollback that fails too is logged (``ROLLBACK_FAILED`` in CloudFormation)."""
        physical_id = (failure.response or {}).get("PhysicalResourceId")
        if not self.rollback or not physical_id:
            return
        failed = CustomResource(
            draft.logical_id,
            draft.resource_type,
            draft.service_token,
            physical_id,
            draft.properties,
        )
        try:
            await self._send(invoker, "Delete", failed)
        except CustomResourceFailed as exc:
            logger.error("Stack %s could not roll back %s: %s", self.name, draft.logical_id, exc)

    async def _clean_up(self, invoker: Invoker, replaced: CustomResource) -> None:
        """Delete the resource an update replaced (CloudFormation's cleanup phase)."""
        try:
            await self._send(invoker, "Delete", replaced)
        except CustomResourceFailed as exc:
            logger.warning(
                "Stack %s could not delete the replaced %s (%s): %s",
                self.name,
                replaced.logical_id,
                replaced.physical_resource_id,
                exc.reason,
            )

    def _event(
        self,
        resource: CustomResource,
        status: str,
        reason: str | None,
        physical_id: object = None,
    ) -> None:
        shown = physical_id if isinstance(physical_id, str) else resource.physical_resource_id
        self._events.append(
            StackEvent(
                resource.logical_id,
                shown,
                resource.resource_type,
                status,
                reason,
                self.clock.time(),
            )
        )

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop serving the response URLs (the resources stay readable)."""
        self._bucket.close()

    def __enter__(self) -> Self:
        self._bucket.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self.close)

    def __repr__(self) -> str:
        return f"<CustomResourceStack {self.name} resources={len(self._resources)}>"


def _answered(draft: CustomResource, answer: dict[str, Any]) -> CustomResource:
    return CustomResource(
        draft.logical_id,
        draft.resource_type,
        draft.service_token,
        answer["PhysicalResourceId"],
        MappingProxyType(dict(draft.properties)),
        MappingProxyType(dict(answer.get("Data") or {})),
        answer.get("NoEcho") is True,
    )


def _check_logical_id(logical_id: object) -> None:
    if not isinstance(logical_id, str) or not _LOGICAL_ID.fullmatch(logical_id):
        raise TemplateError(
            f"Template format error: Resource name {logical_id} is non alphanumeric."
        )


def _check_type(resource_type: object) -> None:
    if resource_type != DEFAULT_RESOURCE_TYPE and not (
        isinstance(resource_type, str) and _CUSTOM_TYPE.fullmatch(resource_type)
    ):
        raise TemplateError(
            f"Template format error: Unrecognized resource types: [{resource_type}]"
        )
