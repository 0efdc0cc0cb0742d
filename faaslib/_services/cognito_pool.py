"""The core of a Cognito user pool that its flows share: users, sessions, the connections to
its triggers' functions and their invocation, the password policy and the messages it sends."""

from __future__ import annotations

import datetime
import secrets
import string
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from .._errors import FaaslibError, InvalidParameterException, InvokerClosed
from .._site import FollowsSite
from .cognito_errors import (
    InvalidPasswordException,
    NotAuthorizedException,
    UnexpectedLambdaException,
    UserNotFoundException,
)
from .cognito_events import (
    CODE_PARAMETER,
    LINK_PARAMETER,
    NO_CLIENT,
    USERNAME_PARAMETER,
    _answer,
    _text,
    cognito_trigger_event,
)
from .cognito_tokens import _opaque_token

if TYPE_CHECKING:
    from .._clock import Clock

__all__ = ["TRIGGER_ATTEMPTS", "TRIGGER_TIMEOUT", "SentMessage"]

#: Cognito waits this long (seconds) for a trigger's answer, and asks this many times.
TRIGGER_TIMEOUT = 5.0
TRIGGER_ATTEMPTS = 3
_DEFAULT_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
_ALPHANUMERIC = string.ascii_letters + string.digits


@dataclass(frozen=True)
class SentMessage:
    """A message the pool "sent" (it records them in :attr:`UserPool.sent_messages`).

    :ivar medium: ``EMAIL`` or ``SMS``
    :ivar destination: the address or phone number
    :ivar subject: the email's subject (``None`` for SMS)
    :ivar message: the text, the code in place of ``{####}``
    :ivar code: the code it carries (confirmation, reset, temporary password)
    :ivar trigger_source: the Custom message trigger source of its occasion
        (``CustomMessage_SignUp``, ``CustomMessage_ForgotPassword``, ...)
    """

    username: str
    medium: str
    destination: str
    subject: str | None
    message: str
    code: str
    trigger_source: str


@dataclass(eq=False)
class _User:
    username: str
    password: str
    attributes: dict[str, str]
    status: str
    created: float
    modified: float
    enabled: bool = True
    code: str | None = None  # the pending confirmation code
    reset_code: str | None = None

    def event_attributes(self) -> dict[str, str]:
        """The user's attributes as triggers get them (``cognito:user_status`` included)."""
        attributes = {"sub": self.attributes["sub"], "cognito:user_status": self.status}
        attributes.update(self.attributes)
        return attributes


@dataclass(frozen=True)
class _Session:
    """An authentication under way: whose, the custom challenges so far, and the private
    parameters and metadata of the challenge asked."""

    username: str
    history: list[dict[str, Any]] = field(default_factory=list)
    private: dict[str, str] = field(default_factory=dict)
    metadata: str | None = None


class _Listing(Protocol):
    """What a connection reads of the :class:`~faaslib.Cognito` trigger it serves."""

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def _listed(self) -> list[int]: ...


@dataclass(frozen=True, eq=False)
class _Connection:
    """An invoker's way to one function, for the triggers a :class:`Cognito` names."""

    trigger: _Listing
    function_name: str
    invoke: Callable[..., Awaitable[Any]]


_SENT_DEFAULTS = {
    "CustomMessage_SignUp": ("Your verification code", "Your verification code is {####}. "),
    "CustomMessage_ResendCode": ("Your verification code", "Your verification code is {####}. "),
    "CustomMessage_ForgotPassword": (
        "Your verification code",
        "Your verification code is {####}. ",
    ),
    "CustomMessage_AdminCreateUser": (
        "Your temporary password",
        "Your username is {username} and temporary password is {####}. ",
    ),
}


class _PoolCore(FollowsSite):
    """What a :class:`UserPool`'s flows share: its users, its connections to the functions of
    its triggers and the invocation of them, and the messages it sends."""

    def __init__(
        self,
        name: str,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
        auto_verified_attributes: Sequence[str] = ("email",),
        password_policy: Mapping[str, Any] | None = None,
        trigger_timeout: float = TRIGGER_TIMEOUT,
    ) -> None:
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise InvalidParameterException("PoolName must be 1-128 characters")
        for attribute in auto_verified_attributes:
            if attribute not in ("email", "phone_number"):
                raise InvalidParameterException(
                    f"AutoVerifiedAttributes: {attribute!r} is not email or phone_number"
                )
        if isinstance(trigger_timeout, bool) or not (
            isinstance(trigger_timeout, (int, float)) and trigger_timeout > 0
        ):
            raise InvalidParameterException("trigger_timeout must be a positive number of seconds")
        self._settle(region, account_id, clock)
        self.name = name
        self.auto_verified_attributes = tuple(auto_verified_attributes)
        self.password_policy = {**_DEFAULT_POLICY, **(password_policy or {})}
        self.trigger_timeout = trigger_timeout
        self._suffix = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(9))
        self.client_id = "".join(
            secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26)
        )
        self._users: dict[str, _User] = {}
        self._connections: dict[str, list[_Connection]] = {}
        self._sessions: dict[str, _Session] = {}
        #: Every message the pool sent, oldest first.
        self.sent_messages: list[SentMessage] = []

    @property
    def id(self) -> str:
        """The pool's id, ``<region>_<9 characters>``."""
        return f"{self.region}_{self._suffix}"

    @property
    def arn(self) -> str:
        return f"arn:aws:cognito-idp:{self.region}:{self.account_id}:userpool/{self.id}"

    def __repr__(self) -> str:
        return f"<UserPool {self.name} {self.id} users={len(self._users)}>"

    def connected(self, name: str) -> str | None:
        """The function the pool invokes for trigger ``name`` now, or ``None`` (the step is
        skipped): the latest connection of a trigger a registered function still lists."""
        connection = self._connection(name)
        return None if connection is None else connection.function_name

    def _connect(self, names: Sequence[str], connection: _Connection) -> None:
        for name in names:
            self._connections.setdefault(name, []).append(connection)

    def _disconnect(self, names: Sequence[str], connection: _Connection) -> None:
        for name in names:
            connections = self._connections.get(name, [])
            if connection in connections:
                connections.remove(connection)

    def _connection(self, name: str) -> _Connection | None:
        for connection in reversed(self._connections.get(name, [])):
            if connection.trigger._listed[0]:
                return connection
        return None

    async def _trigger(
        self,
        name: str,
        source: str,
        username: str,
        client_id: str,
        request: dict[str, Any],
        response: dict[str, Any],
    ) -> dict[str, Any] | None:
        """Invoke the function of trigger ``name`` with its event and return the answer's
        ``response`` object; ``None`` when no function is connected (the step is skipped)."""
        event = cognito_trigger_event(
            source,
            user_pool_id=self.id,
            region=self.region,
            user_name=username,
            client_id=client_id,
            request=request,
            response=response,
        )
        while True:
            connection = self._connection(name)
            if connection is None:
                return None
            try:
                return await self._invoke(name, connection, event)
            except InvokerClosed:  # that invoker is gone: as if it never connected
                self._disconnect(connection.trigger.names, connection)

    async def _invoke(
        self, name: str, connection: _Connection, event: dict[str, Any]
    ) -> dict[str, Any]:
        for _ in range(TRIGGER_ATTEMPTS):
            with anyio.move_on_after(self.trigger_timeout):
                try:
                    result = await connection.invoke(
                        connection.function_name,
                        event,
                        "RequestResponse",
                        principal="cognito-idp.amazonaws.com",
                        source_arn=self.arn,
                    )
                except InvokerClosed:
                    raise
                except FaaslibError as exc:
                    raise UnexpectedLambdaException(
                        f"{name} invocation failed due to error {exc.error_type}."
                    ) from exc
                return _answer(name, result.payload, result.function_error)
        raise UnexpectedLambdaException(
            f"{name} invocation failed due to error Socket timeout while invoking Lambda function."
        )

    async def _post_confirmation(
        self,
        user: _User,
        source: str,
        client_id: str,
        client_metadata: Mapping[str, str] | None,
    ) -> None:
        request: dict[str, Any] = {"userAttributes": user.event_attributes()}
        _add_metadata(request, client_metadata)
        await self._trigger("PostConfirmation", source, user.username, client_id, request, {})

    async def _send_code(
        self,
        user: _User,
        source: str,
        code: str,
        client_metadata: Mapping[str, str] | None,
        *,
        verified: bool = False,
    ) -> dict[str, str] | None:
        """Send ``code`` to the user (Custom message may write the text); return its
        ``CodeDeliveryDetails``, or ``None`` when the user has nowhere to send it."""
        where = self._delivery_attribute(user, verified=verified)
        if where is None:
            return None
        request: dict[str, Any] = {
            "userAttributes": user.event_attributes(),
            "codeParameter": CODE_PARAMETER,
            "linkParameter": LINK_PARAMETER,
            "usernameParameter": USERNAME_PARAMETER
            if source == "CustomMessage_AdminCreateUser"
            else None,
        }
        _add_metadata(request, client_metadata)
        answer = await self._trigger(
            "CustomMessage",
            source,
            user.username,
            NO_CLIENT if source == "CustomMessage_AdminCreateUser" else self.client_id,
            request,
            {"smsMessage": None, "emailMessage": None, "emailSubject": None},
        )
        subject, text = _SENT_DEFAULTS[source]
        medium = "EMAIL" if where == "email" else "SMS"
        if answer is not None:
            custom = answer.get("emailMessage" if medium == "EMAIL" else "smsMessage")
            if custom is not None:
                text = _text(custom)
            if medium == "EMAIL" and answer.get("emailSubject") is not None:
                subject = _text(answer["emailSubject"])
        text = text.replace(CODE_PARAMETER, code).replace(USERNAME_PARAMETER, user.username)
        destination = user.attributes[where]
        self.sent_messages.append(
            SentMessage(
                username=user.username,
                medium=medium,
                destination=destination,
                subject=subject if medium == "EMAIL" else None,
                message=text,
                code=code,
                trigger_source=source,
            )
        )
        return {
            "Destination": _masked(destination, medium),
            "DeliveryMedium": medium,
            "AttributeName": where,
        }

    def _user(self, username: str) -> _User:
        _check_username(username)
        try:
            return self._users[username]
        except KeyError:
            raise UserNotFoundException("User does not exist.") from None

    def _new_user(
        self, username: str, password: str, attributes: dict[str, str], status: str
    ) -> _User:
        _check_username(username)
        now = self.clock.time()
        values = {"sub": str(uuid.uuid4()), **attributes}
        return _User(username, password, values, status, now, now)

    def _set_status(self, user: _User, status: str) -> None:
        user.status = status
        user.modified = self.clock.time()

    def _delivery_attribute(self, user: _User, *, verified: bool = False) -> str | None:
        """Where codes go: the first auto-verified attribute the user has (verified, if
        asked)."""
        for attribute in self.auto_verified_attributes:
            if user.attributes.get(attribute) and (
                not verified or user.attributes.get(f"{attribute}_verified") == "true"
            ):
                return attribute
        return None

    def _check_password(self, password: str) -> None:
        if not isinstance(password, str) or not password or len(password) > 256:
            raise InvalidParameterException(
                "1 validation error detected: Value at 'password' failed to satisfy constraint: "
                "Member must have length less than or equal to 256"
            )
        policy = self.password_policy
        rules = (
            (len(password) >= policy["MinimumLength"], "Password not long enough"),
            (
                not policy["RequireUppercase"] or any(c.isupper() for c in password),
                "Password must have uppercase characters",
            ),
            (
                not policy["RequireLowercase"] or any(c.islower() for c in password),
                "Password must have lowercase characters",
            ),
            (
                not policy["RequireNumbers"] or any(c.isdigit() for c in password),
                "Password must have numeric characters",
            ),
            (
                not policy["RequireSymbols"] or any(c in _SYMBOLS for c in password),
                "Password must have symbol characters",
            ),
        )
        for ok, problem in rules:
            if not ok:
                raise InvalidPasswordException(f"Password did not conform with policy: {problem}")

    def _user_record(self, user: _User, attributes_key: str) -> dict[str, Any]:
        return {
            "Username": user.username,
            attributes_key: [{"Name": k, "Value": v} for k, v in user.attributes.items()],
            "UserCreateDate": _datetime(user.created),
            "UserLastModifiedDate": _datetime(user.modified),
            "Enabled": user.enabled,
            "UserStatus": user.status,
        }

    def _new_session(self, session: _Session) -> str:
        token = _opaque_token()
        self._sessions[token] = session
        return token

    def _take_session(self, session: str) -> _Session:
        try:
            return self._sessions.pop(session)
        except KeyError:
            raise NotAuthorizedException("Invalid session for the user.") from None


def _attributes(attributes: Mapping[str, str] | None) -> dict[str, str]:
    values = dict(attributes or {})
    for name, value in values.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidParameterException(
                f"Attributes did not conform to the schema: {name!r} must be a string value"
            )
        if name == "sub" or name.startswith("cognito:"):
            raise InvalidParameterException(
                f"Attributes did not conform to the schema: {name}: Attribute cannot be updated."
            )
    return values


def _check_username(username: object) -> None:
    """:raises InvalidParameterException: not a name Cognito accepts (1-128 characters, no
    white space)"""
    if (
        not isinstance(username, str)
        or not 1 <= len(username) <= 128
        or any(c.isspace() for c in username)
    ):
        raise InvalidParameterException(
            "1 validation error detected: Value at 'username' failed to satisfy constraint: "
            r"Member must satisfy regular expression pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+"
        )


def _add_metadata(request: dict[str, Any], client_metadata: Mapping[str, str] | None) -> None:
    if client_metadata is not None:
        request["clientMetadata"] = dict(client_metadata)


def _code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _temporary_password() -> str:
    return "Tmp" + secrets.token_hex(4) + "!9a"


def _masked(destination: str, medium: str) -> str:
    if medium == "SMS":
        return "+*******" + destination[-4:]
    local, _, domain = destination.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def _datetime(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
