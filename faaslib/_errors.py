"""faaslib's exceptions: one tree, each class named and served as Lambda names and serves it.

::

    FaaslibError
    ├── ValidationException            400  a value breaks Lambda's constraints (config, name)
    ├── ResourceConflictException      409  a function of that name is already registered
    ├── ResourceNotFoundException      404  unknown function, version or alias
    ├── AccessDeniedException          403  no policy lets the caller invoke the function
    ├── InvalidParameterValueException 400  a parameter of the request is invalid
    │   └── InvalidParameterException  400  ... of another service's call (Cognito, CloudWatch Logs)
    ├── InvalidRequestContentException 400  payload is not JSON or does not fit the event type
    ├── RequestTooLargeException       413  payload over the invocation type's size limit
    │                                       (served as RequestEntityTooLargeException)
    ├── TooManyRequestsException       429  concurrency limit reached (throttled)
    ├── InvalidMessageContents         400  a queue message holds text SQS does not accept
    ├── ServiceException               500  faaslib itself failed (a journal commit), not the request
    ├── InvokerClosed                  500  the invoker is not open (never entered, or left)
    ├── ConfigurationError                  FAASLIB_REGISTRY / FAASLIB_FUNCTION name no function
    │                                       (an ImportError too: fails a cold start on AWS)
    └── TemplateError                  400  a SAM or CloudFormation template faaslib cannot read
                                            (CloudFormation's ValidationError)

Each class declares the Lambda ``error_type`` and HTTP ``status_code`` it is served with, so a
server maps any of them without a ladder of conditions. Errors raised by a *handler* are not
exceptions of this tree: they become function errors in the
:class:`~faaslib.InvocationResult` (``function_error="Unhandled"``), as in Lambda.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

__all__ = [
    "AccessDeniedException",
    "ConfigurationError",
    "FaaslibError",
    "InvalidMessageContents",
    "InvalidParameterException",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "InvokerClosed",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceNotFoundException",
    "ServiceException",
    "TemplateError",
    "TemplateWarning",
    "TooManyRequestsException",
    "ValidationException",
]


class FaaslibError(Exception):
    """Root of every error faaslib raises.

    :ivar message: the human-readable message (also ``str(error)``)
    :ivar function_name: the function the request named, when there is one
    """

    #: Lambda's error code for this condition (``x-amzn-ErrorType`` on the wire).
    error_type: ClassVar[str] = "ServiceException"
    #: HTTP status Lambda answers this condition with.
    status_code: ClassVar[int] = 500
    #: ``Type`` member of the wire error body: ``User`` for 4xx, ``Service`` for 5xx.
    fault: ClassVar[Literal["User", "Service"]] = "Service"

    def __init__(self, message: str, *, function_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.function_name = function_name

    #: Name of the message member in the wire body (Lambda's model varies its casing).
    message_member: ClassVar[str] = "Message"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error body Lambda sends for this error."""
        return {"Type": self.fault, self.message_member: self.message}


class ValidationException(FaaslibError, ValueError):
    """A value breaks Lambda's constraints: a function's configuration when registering, or a
    malformed function name or qualifier when invoking.

    The message names the bad field in the form Lambda's API uses. Nothing was registered or
    run; correct the value. :attr:`field` is the field's name.
    """

    error_type = "ValidationException"
    message_member = "message"
    status_code = 400
    fault = "User"

    def __init__(self, field: str, value: object, constraint: str) -> None:
        super().__init__(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: {constraint}"
        )
        self.field = field
        self.value = value


class ResourceConflictException(FaaslibError):
    """A function of the same name is already registered. Pick another ``name=``."""

    error_type = "ResourceConflictException"
    message_member = "message"
    status_code = 409
    fault = "User"


class ResourceNotFoundException(FaaslibError, LookupError):
    """The function, version or alias named by the request does not exist.

    Unlike :class:`InvalidParameterValueException`, the request itself was well formed.
    """

    error_type = "ResourceNotFoundException"
    status_code = 404
    fault = "User"


class AccessDeniedException(FaaslibError, PermissionError):
    """The caller (its principal) may not invoke the function: the invoker checks permissions
    and no statement of the function's resource-based policy allows it. Nothing ran."""

    error_type = "AccessDeniedException"
    status_code = 403
    fault = "User"


class InvalidParameterValueException(FaaslibError, ValueError):
    """A request parameter (qualifier, client context, invocation or log type) is invalid."""

    error_type = "InvalidParameterValueException"
    message_member = "message"
    status_code = 400
    fault = "User"


class InvalidParameterException(InvalidParameterValueException):
    """A parameter of another AWS service's call is invalid, under that service's name for
    it (Cognito's, CloudWatch Logs'), not Lambda's ``InvalidParameterValueException``."""

    error_type = "InvalidParameterException"


class InvalidRequestContentException(FaaslibError, ValueError):
    """The payload is not valid JSON, or does not validate against the handler's event type.

    Nothing ran and nothing was queued. :attr:`errors` holds pydantic's error list (with each
    error's ``loc``) when the payload parsed but did not validate.
    """

    error_type = "InvalidRequestContentException"
    message_member = "message"
    status_code = 400
    fault = "User"

    def __init__(
        self,
        message: str,
        *,
        function_name: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, function_name=function_name)
        self.errors = errors or []


class RequestTooLargeException(FaaslibError):
    """The payload is over the size limit of its invocation type (6 MB sync, 1 MB Event).

    Served as Lambda serves it: error code ``RequestEntityTooLargeException`` (what boto3
    users see, as a plain ``ClientError``; Lambda's API model names the error
    ``RequestTooLargeException``, the name of this class), HTTP 413, and a message such as
    ``6291457 byte payload is too large for the RequestResponse invocation type (limit 6291456
    bytes)``. :attr:`size` and :attr:`limit` are the payload's size and the limit, in bytes.
    """

    error_type = "RequestEntityTooLargeException"
    message_member = "message"
    #: The code on the wire: :attr:`error_type` (kept for code that read it here).
    wire_error_type: ClassVar[str] = "RequestEntityTooLargeException"
    status_code = 413
    fault = "User"

    def __init__(self, message: str, *, function_name: str | None = None, size: int, limit: int):
        super().__init__(message, function_name=function_name)
        self.size = size
        self.limit = limit


class TooManyRequestsException(FaaslibError):
    """The invocation was throttled: a concurrency limit is reached. Retry later.

    :ivar reason: Lambda's ``Reason``, e.g. ``ConcurrentInvocationLimitExceeded``
    """

    error_type = "TooManyRequestsException"
    message_member = "message"
    status_code = 429
    fault = "User"

    def __init__(self, message: str, *, function_name: str | None = None, reason: str) -> None:
        super().__init__(message, function_name=function_name)
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        return {"Reason": self.reason, "Type": self.fault, "message": self.message}


class InvalidMessageContents(FaaslibError, ValueError):
    """A message sent to a :class:`~faaslib.Queue` holds characters SQS does not accept (text
    that is not Unicode, such as a lone surrogate, or a character outside SQS's allowed set).

    Nothing was stored. Encode the content (base64, for instance) before sending it.
    """

    error_type = "InvalidMessageContents"
    status_code = 400
    fault = "User"


class ServiceException(FaaslibError):
    """faaslib itself failed to carry out a request that was valid: for instance the journal
    could not commit an accepted Event invocation (a full or read-only disk).

    Unlike a 4xx error, the request is not at fault: it was not accepted, and may be sent
    again once the cause (named in the message) is fixed.
    """

    error_type = "ServiceException"
    status_code = 500
    fault = "Service"


class InvokerClosed(FaaslibError, RuntimeError):
    """The invoker is not open: it was never entered with ``async with``, or it was left.

    This is a usage error of the caller; open the invoker before invoking through it.
    """


class ConfigurationError(FaaslibError, ImportError):
    """The environment does not name a registered function (``FAASLIB_REGISTRY``,
    ``FAASLIB_FUNCTION``); the message says what to set. Raised while AWS's runtime imports
    ``faaslib.aws.handler``, it fails the cold start (``Runtime.ImportModuleError``)."""


class TemplateError(FaaslibError, ValueError):
    """A SAM or CloudFormation template cannot be read or run: not YAML or JSON, a missing
    parameter value, an intrinsic function that does not resolve, a reference to a resource
    that does not exist. The message names the place in the template (``Resources.Queue.
    Properties.QueueName``); nothing of the template was registered."""

    error_type = "ValidationError"
    status_code = 400
    fault = "User"


class TemplateWarning(UserWarning):
    """Something a template uses that faaslib does not run (layers, container images, other
    runtimes, a VPC, a service it lacks), issued with :func:`warnings.warn` by
    :meth:`~faaslib.Registry.from_template`; the message names the resource and what faaslib
    does instead. Not an error: the rest of the application runs."""
