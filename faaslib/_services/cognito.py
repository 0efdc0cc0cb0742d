"""Amazon Cognito user pools: ``UserPool``, an in-memory user directory whose flows (sign-up,
confirmation, sign-in, forgotten passwords) call the functions attached to its triggers; the
trigger events; and the ``Cognito`` trigger (SAM's ``Cognito`` event).

Cognito invokes a trigger synchronously (``RequestResponse``, as ``cognito-idp.amazonaws.com``
with the pool's ARN) in the middle of the call that needs it, and acts on the answer: a
function error refuses the call with ``UserLambdaValidationException``; an answer it cannot
read, with ``InvalidLambdaResponseException``; no answer within 5 seconds (three attempts),
with ``UnexpectedLambdaException``. So each flow is an ``async`` method of the pool.

How a pool reaches its functions: a ``Cognito`` trigger's runner, made when an invoker runs
the function listing it, connects the invoker's ``invoke`` to the pool under each trigger name
it names, until the runner stops. A flow asks the pool for the connection of a trigger name and
invokes through it; with none (no invoker runs a function listing that trigger) the step is
skipped, as a pool without that trigger configured skips it.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import string
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from .._errors import (
    FaaslibError,
    InvalidParameterException,
    InvalidParameterValueException,
    InvokerClosed,
)
from .._site import FollowsSite
from .._triggers import Trigger, TriggerHost

if TYPE_CHECKING:
    from anyio import CancelScope

    from .._clock import Clock
    from .._site import Site

__all__ = [
    "TRIGGER_NAMES",
    "TRIGGER_SOURCES",
    "CodeMismatchException",
    "Cognito",
    "CognitoError",
    "CognitoRunner",
    "InvalidLambdaResponseException",
    "InvalidPasswordException",
    "NotAuthorizedException",
    "PasswordResetRequiredException",
    "SentMessage",
    "UnexpectedLambdaException",
    "UserLambdaValidationException",
    "UserNotConfirmedException",
    "UserNotFoundException",
    "UserPool",
    "UsernameExistsException",
    "cognito_trigger_event",
    "token_claims",
]

#: The triggers a user pool invokes synchronously (``LambdaConfig``'s and SAM's names).
TRIGGER_NAMES = (
    "PreSignUp",
    "PostConfirmation",
    "PreAuthentication",
    "PostAuthentication",
    "PreTokenGeneration",
    "CustomMessage",
    "DefineAuthChallenge",
    "CreateAuthChallenge",
    "VerifyAuthChallengeResponse",
    "UserMigration",
)
#: The occasions (``triggerSource``) of the events, by trigger.
TRIGGER_SOURCES = (
    "PreSignUp_SignUp",
    "PreSignUp_AdminCreateUser",
    "PreSignUp_ExternalProvider",
    "PostConfirmation_ConfirmSignUp",
    "PostConfirmation_ConfirmForgotPassword",
    "PreAuthentication_Authentication",
    "PostAuthentication_Authentication",
    "TokenGeneration_HostedAuth",
    "TokenGeneration_Authentication",
    "TokenGeneration_NewPasswordChallenge",
    "TokenGeneration_AuthenticateDevice",
    "TokenGeneration_RefreshTokens",
    "CustomMessage_SignUp",
    "CustomMessage_AdminCreateUser",
    "CustomMessage_ResendCode",
    "CustomMessage_ForgotPassword",
    "CustomMessage_UpdateUserAttribute",
    "CustomMessage_VerifyUserAttribute",
    "CustomMessage_Authentication",
    "DefineAuthChallenge_Authentication",
    "CreateAuthChallenge_Authentication",
    "VerifyAuthChallengeResponse_Authentication",
    "UserMigration_Authentication",
    "UserMigration_ForgotPassword",
)
#: Cognito waits this long (seconds) for a trigger's answer, and asks this many times.
TRIGGER_TIMEOUT = 5.0
TRIGGER_ATTEMPTS = 3
#: The ``clientId`` of the events of administrative calls (``AdminCreateUser``, ...).
NO_CLIENT = "CLIENT_ID_NOT_APPLICABLE"
SDK_VERSION = "aws-sdk-unknown-unknown"
CODE_PARAMETER = "{####}"
LINK_PARAMETER = "{##Click Here##}"
USERNAME_PARAMETER = "{username}"
TOKEN_LIFETIME = 3600
_DEFAULT_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
#: Claims Pre token generation cannot change.
_FIXED_CLAIMS_NAMES = (
    "acr amr aud at_hash auth_time azp cognito:username exp iat identities iss jti nbf nonce "
    "origin_jti sub token_use"
)
_FIXED_CLAIMS = frozenset(_FIXED_CLAIMS_NAMES.split())
_ALPHANUMERIC = string.ascii_letters + string.digits


# -- errors ------------------------------------------------------------------------------------


class CognitoError(FaaslibError):
    """Root of the errors a :class:`UserPool` raises, each named and worded as Cognito's API
    (``cognito-idp``) answers: a client error (HTTP 400) of the call, which changed nothing
    unless its class says otherwise. (An invalid parameter is faaslib's shared
    :class:`~faaslib.InvalidParameterException`.)"""

    error_type = "CognitoError"
    message_member = "message"
    status_code = 400
    fault = "User"


class UserLambdaValidationException(CognitoError):
    """A trigger's function failed (raised, or timed out on its own deadline): ``<trigger>
    failed with error <its errorMessage>.``. Pre triggers refuse the call; after Post
    confirmation the user stays confirmed, after Post authentication no tokens are issued."""

    error_type = "UserLambdaValidationException"


class UnexpectedLambdaException(CognitoError):
    """A trigger's function could not be invoked (refused, throttled, not found) or did not
    answer in 5 seconds three times: ``<trigger> invocation failed due to error <cause>.``"""

    error_type = "UnexpectedLambdaException"


class InvalidLambdaResponseException(CognitoError):
    """A trigger's function answered with something other than the event object, or with a
    response field of the wrong type."""

    error_type = "InvalidLambdaResponseException"


class InvalidPasswordException(CognitoError, ValueError):
    """The password breaks the pool's password policy."""

    error_type = "InvalidPasswordException"


class NotAuthorizedException(CognitoError):
    """Wrong username or password, a disabled user, or a confirmation of a user not in a state
    to be confirmed."""

    error_type = "NotAuthorizedException"


class UserNotConfirmedException(CognitoError):
    """The user signed up but has not confirmed (``UNCONFIRMED``): confirm, then sign in."""

    error_type = "UserNotConfirmedException"


class UserNotFoundException(CognitoError, LookupError):
    """No user of that name (and no User migration trigger brought one)."""

    error_type = "UserNotFoundException"


class UsernameExistsException(CognitoError):
    """A user of that name exists already."""

    error_type = "UsernameExistsException"


class CodeMismatchException(CognitoError):
    """The confirmation or reset code is not the one the pool sent."""

    error_type = "CodeMismatchException"


class PasswordResetRequiredException(CognitoError):
    """The user is ``RESET_REQUIRED``: ``forgot_password``, then ``confirm_forgot_password``."""

    error_type = "PasswordResetRequiredException"


# -- the pool ----------------------------------------------------------------------------------


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


@dataclass(frozen=True, eq=False)
class _Connection:
    """An invoker's way to one function, for the triggers a :class:`Cognito` names."""

    trigger: Cognito
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


class _SignIn(_PoolCore):
    """A :class:`UserPool`'s sign-in flows: passwords, new-password and custom challenges, users
    migrated on the way, and the tokens."""

    async def authenticate(
        self,
        username: str,
        password: str,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Cognito's ``InitiateAuth`` with ``USER_PASSWORD_AUTH``.

        An unknown user is asked of User migration (``UserMigration_Authentication``), and
        created from its answer. Then Pre authentication (may refuse), the password and the
        user's state, Post authentication (may refuse), and Pre token generation
        (``TokenGeneration_Authentication``: claims added to or suppressed from the ID token).
        As InitiateAuth does, the pool gives ``client_metadata`` to User migration and Pre
        authentication only, as their ``validationData``.

        :return: InitiateAuth's response: ``AuthenticationResult`` (``AccessToken``,
            ``IdToken``, ``RefreshToken``, ``ExpiresIn``, ``TokenType``), or for a
            ``FORCE_CHANGE_PASSWORD`` user the ``NEW_PASSWORD_REQUIRED`` challenge
        :raises UserNotFoundException: no such user (and none migrated)
        :raises NotAuthorizedException: wrong password, or a disabled user
        :raises UserNotConfirmedException: the user is ``UNCONFIRMED``
        :raises PasswordResetRequiredException: the user is ``RESET_REQUIRED``
        :raises UserLambdaValidationException: a trigger's function failed
        """
        _check_username(username)
        if not isinstance(password, str):
            raise InvalidParameterException("Missing required parameter PASSWORD")
        user = self._users.get(username)
        if user is None:
            user = await self._migrate(
                username, "UserMigration_Authentication", password, client_metadata
            )
        await self._pre_authentication(user, client_metadata)
        if not user.enabled:
            raise NotAuthorizedException("User is disabled.")
        if not secrets.compare_digest(password.encode(), user.password.encode()):
            raise NotAuthorizedException("Incorrect username or password.")
        if user.status == "UNCONFIRMED":
            raise UserNotConfirmedException("User is not confirmed.")
        if user.status == "RESET_REQUIRED":
            raise PasswordResetRequiredException("Password reset required for the user")
        if user.status == "FORCE_CHANGE_PASSWORD":
            return self._new_password_challenge(user)
        return await self._sign_in(user, "TokenGeneration_Authentication", None)

    async def _pre_authentication(
        self, user: _User, validation_data: Mapping[str, str] | None
    ) -> None:
        request: dict[str, Any] = {
            "userAttributes": user.event_attributes(),
            "validationData": None if validation_data is None else dict(validation_data),
        }
        await self._trigger(
            "PreAuthentication",
            "PreAuthentication_Authentication",
            user.username,
            self.client_id,
            request,
            {},
        )

    async def _sign_in(
        self, user: _User, source: str, client_metadata: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """Post authentication, then Pre token generation (``source``) and the tokens."""
        request: dict[str, Any] = {
            "newDeviceUsed": False,
            "userAttributes": user.event_attributes(),
        }
        _add_metadata(request, client_metadata)
        await self._trigger(
            "PostAuthentication",
            "PostAuthentication_Authentication",
            user.username,
            self.client_id,
            request,
            {},
        )
        return {
            "ChallengeParameters": {},
            "AuthenticationResult": await self._tokens(user, source, client_metadata),
        }

    def _new_password_challenge(self, user: _User) -> dict[str, Any]:
        session = self._new_session(_Session(user.username))
        shown = {k: v for k, v in user.attributes.items() if k != "sub"}
        return {
            "ChallengeName": "NEW_PASSWORD_REQUIRED",
            "Session": session,
            "ChallengeParameters": {
                "USER_ID_FOR_SRP": user.username,
                "requiredAttributes": "[]",
                "userAttributes": json.dumps(shown),
            },
        }

    async def respond_to_new_password_challenge(
        self,
        session: str,
        new_password: str,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Cognito's ``RespondToAuthChallenge`` to ``NEW_PASSWORD_REQUIRED``: the user's new
        password; the user is ``CONFIRMED`` and signed in: Post authentication, then Pre token
        generation (``TokenGeneration_NewPasswordChallenge``), both given ``client_metadata``
        (Post confirmation does not run).

        :raises NotAuthorizedException: an unknown or used session
        :raises InvalidPasswordException: the password breaks the policy
        """
        user = self._user(self._take_session(session).username)
        self._check_password(new_password)
        user.password = new_password
        self._set_status(user, "CONFIRMED")
        return await self._sign_in(user, "TokenGeneration_NewPasswordChallenge", client_metadata)

    async def initiate_custom_auth(
        self, username: str, *, client_metadata: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Cognito's ``InitiateAuth`` with ``CUSTOM_AUTH``: Pre authentication (given
        ``client_metadata`` as its ``validationData``), then Define auth challenge decides and
        Create auth challenge writes the challenge.

        :return: the challenge (``ChallengeName`` ``CUSTOM_CHALLENGE``, ``Session``,
            ``ChallengeParameters``: the public ones), or tokens when Define auth challenge
            issues them at once
        :raises UserNotFoundException: no such user
        :raises NotAuthorizedException: Define auth challenge failed the authentication
        :raises InvalidParameterException: no Define auth challenge trigger runs
        """
        user = self._user(username)
        if not user.enabled:
            raise NotAuthorizedException("User is disabled.")
        await self._pre_authentication(user, client_metadata)
        return await self._next_challenge(user, [], None)

    async def respond_to_custom_challenge(
        self,
        session: str,
        answer: str,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Cognito's ``RespondToAuthChallenge`` to ``CUSTOM_CHALLENGE``: Verify auth challenge
        response judges the answer, then Define auth challenge decides what comes next.

        :raises NotAuthorizedException: an unknown or used session, or the authentication
            failed
        """
        asked = self._take_session(session)
        user = self._user(asked.username)
        request: dict[str, Any] = {
            "userAttributes": user.event_attributes(),
            "privateChallengeParameters": asked.private,
            "challengeAnswer": answer,
        }
        _add_metadata(request, client_metadata)
        verdict = await self._trigger(
            "VerifyAuthChallengeResponse",
            "VerifyAuthChallengeResponse_Authentication",
            user.username,
            self.client_id,
            request,
            {"answerCorrect": False},
        )
        correct = verdict is not None and _flag(verdict, "answerCorrect")
        history = [
            *asked.history,
            {
                "challengeName": "CUSTOM_CHALLENGE",
                "challengeResult": correct,
                "challengeMetadata": asked.metadata,
            },
        ]
        return await self._next_challenge(user, history, client_metadata)

    async def _next_challenge(
        self,
        user: _User,
        history: list[dict[str, Any]],
        client_metadata: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "userAttributes": user.event_attributes(),
            "session": history,
        }
        _add_metadata(request, client_metadata)
        decision = await self._trigger(
            "DefineAuthChallenge",
            "DefineAuthChallenge_Authentication",
            user.username,
            self.client_id,
            request,
            {"challengeName": None, "issueTokens": None, "failAuthentication": None},
        )
        if decision is None:
            raise InvalidParameterException(
                "Custom auth lambda trigger is not configured for the user pool."
            )
        if _flag(decision, "failAuthentication"):
            raise NotAuthorizedException("Incorrect username or password.")
        if _flag(decision, "issueTokens"):
            return await self._sign_in(user, "TokenGeneration_Authentication", client_metadata)
        if decision.get("challengeName") != "CUSTOM_CHALLENGE":
            raise InvalidLambdaResponseException("Unrecognizable lambda output")
        request = {
            "userAttributes": user.event_attributes(),
            "challengeName": "CUSTOM_CHALLENGE",
            "session": history,
        }
        _add_metadata(request, client_metadata)
        created = (
            await self._trigger(
                "CreateAuthChallenge",
                "CreateAuthChallenge_Authentication",
                user.username,
                self.client_id,
                request,
                {
                    "publicChallengeParameters": None,
                    "privateChallengeParameters": None,
                    "challengeMetadata": None,
                },
            )
            or {}
        )
        public = _string_map(created.get("publicChallengeParameters"))
        private = _string_map(created.get("privateChallengeParameters"))
        metadata = created.get("challengeMetadata")
        if metadata is not None:
            metadata = _text(metadata)
        session = self._new_session(_Session(user.username, history, private, metadata))
        return {
            "ChallengeName": "CUSTOM_CHALLENGE",
            "Session": session,
            "ChallengeParameters": {**public, "USERNAME": user.username},
        }

    async def _migrate(
        self,
        username: str,
        source: str,
        password: str | None,
        client_metadata: Mapping[str, str] | None,
    ) -> _User:
        """Ask User migration for an unknown user; create the user from its answer. At sign-in
        the caller's ``client_metadata`` is the event's ``validationData`` (as InitiateAuth
        passes it), in the forgot-password flow its ``clientMetadata``."""
        request: dict[str, Any] = {}
        if password is not None:
            request["password"] = password
            request["validationData"] = None if client_metadata is None else dict(client_metadata)
        else:
            request["validationData"] = None
            _add_metadata(request, client_metadata)
        answer = await self._trigger(
            "UserMigration",
            source,
            username,
            self.client_id,
            request,
            {
                "userAttributes": None,
                "forceAliasCreation": None,
                "enableSMSMFA": None,
                "finalUserStatus": None,
                "messageAction": None,
                "desiredDeliveryMediums": None,
            },
        )
        missing = UserNotFoundException(
            "User does not exist."
            if source == "UserMigration_Authentication"
            else "Username/client id combination not found."
        )
        if answer is None or not answer.get("userAttributes"):
            raise missing
        values = _attributes(_string_map(answer["userAttributes"]))
        status = answer.get("finalUserStatus") or "CONFIRMED"
        if source == "UserMigration_ForgotPassword":
            status = "RESET_REQUIRED"
        if status not in ("CONFIRMED", "RESET_REQUIRED"):
            raise InvalidLambdaResponseException("Unrecognizable lambda output")
        action = answer.get("messageAction")
        if action not in (None, "SUPPRESS", "RESEND"):
            raise InvalidLambdaResponseException("Unrecognizable lambda output")
        user = self._new_user(username, password or _temporary_password(), values, status)
        self._users[username] = user
        if action is None and password is not None:  # the welcome message, as to a new user
            await self._send_code(user, "CustomMessage_AdminCreateUser", password, None)
        return user

    async def _tokens(
        self, user: _User, source: str, client_metadata: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """Pre token generation, then the tokens (JWT-shaped; signed by nothing)."""
        request: dict[str, Any] = {
            "userAttributes": user.event_attributes(),
            "groupConfiguration": {
                "groupsToOverride": [],
                "iamRolesToOverride": [],
                "preferredRole": None,
            },
        }
        _add_metadata(request, client_metadata)
        answer = await self._trigger(
            "PreTokenGeneration",
            source,
            user.username,
            self.client_id,
            request,
            {"claimsOverrideDetails": None},
        )
        now = int(self.clock.time())
        base = {
            "sub": user.attributes["sub"],
            "iss": f"https://cognito-idp.{self.region}.amazonaws.com/{self.id}",
            "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
            "auth_time": now,
            "exp": now + TOKEN_LIFETIME,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        id_claims = {
            **base,
            "aud": self.client_id,
            "token_use": "id",
            "cognito:username": user.username,
        }
        for key, value in user.attributes.items():
            if key != "sub":
                id_claims[key] = _claim(key, value)
        access_claims = {
            **base,
            "client_id": self.client_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "username": user.username,
        }
        if answer is not None:
            _override(id_claims, access_claims, answer.get("claimsOverrideDetails"))
        return {
            "AccessToken": _jwt(access_claims),
            "ExpiresIn": TOKEN_LIFETIME,
            "TokenType": "Bearer",
            "RefreshToken": _opaque_token(),
            "IdToken": _jwt(id_claims),
        }


class UserPool(_SignIn):
    """An in-memory Cognito user pool with one app client, whose flows invoke the functions
    attached to its triggers (:class:`Cognito`), synchronously, and obey their answers.

    :param name: the pool's name
    :param auto_verified_attributes: ``email`` and/or ``phone_number``: where confirmation
        codes go (the first the user has), and what a confirmation verifies
    :param password_policy: Cognito's ``PasswordPolicy`` (``MinimumLength`` 8 and all four
        ``Require...`` by default)
    :param trigger_timeout: how long (real seconds) the pool waits for a trigger's answer
        before asking again: Cognito's fixed 5 s; tests may shorten it
    :param region: its region; ``account_id`` and ``clock`` likewise: as every source's,
        those not given are the first invoker's that runs a function listing the pool
    :ivar sent_messages: every :class:`SentMessage` the pool sent, oldest first
    :raises InvalidParameterException: an empty name, or an auto-verified attribute other
        than ``email`` and ``phone_number``
    """

    async def sign_up(
        self,
        username: str,
        password: str,
        attributes: Mapping[str, str] | None = None,
        *,
        client_metadata: Mapping[str, str] | None = None,
        validation_data: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Cognito's ``SignUp``: Pre sign-up (``PreSignUp_SignUp``) may refuse it, confirm the
        user and verify their email or phone; an unconfirmed user is sent a code (Custom
        message ``CustomMessage_SignUp``); an auto-confirmed one reaches Post confirmation.

        :return: SignUp's response: ``UserConfirmed``, ``UserSub`` and, when a code was
            sent, ``CodeDeliveryDetails``
        :raises UsernameExistsException: the name is taken
        :raises InvalidPasswordException: the password breaks the policy
        :raises UserLambdaValidationException: a trigger's function failed
        """
        _check_username(username)
        values = _attributes(attributes)
        if username in self._users:
            raise UsernameExistsException("User already exists")
        self._check_password(password)
        request: dict[str, Any] = {
            "userAttributes": dict(values),
            "validationData": None if validation_data is None else dict(validation_data),
        }
        _add_metadata(request, client_metadata)
        answer = await self._trigger(
            "PreSignUp",
            "PreSignUp_SignUp",
            username,
            self.client_id,
            request,
            {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
        )
        confirm = verify_email = verify_phone = False
        if answer is not None:
            confirm, verify_email, verify_phone = (
                _flag(answer, "autoConfirmUser"),
                _flag(answer, "autoVerifyEmail"),
                _flag(answer, "autoVerifyPhone"),
            )
        for wanted, attribute in ((verify_email, "email"), (verify_phone, "phone_number")):
            if wanted and not values.get(attribute):
                raise InvalidParameterException(
                    f"Cannot auto-verify {attribute}: the user has no {attribute} attribute"
                )
        user = self._new_user(username, password, values, "CONFIRMED" if confirm else "UNCONFIRMED")
        for wanted, attribute in ((verify_email, "email"), (verify_phone, "phone_number")):
            if attribute in values:
                user.attributes[f"{attribute}_verified"] = "true" if wanted else "false"
        self._users[username] = user
        response: dict[str, Any] = {"UserConfirmed": confirm, "UserSub": user.attributes["sub"]}
        if confirm:
            await self._post_confirmation(
                user, "PostConfirmation_ConfirmSignUp", self.client_id, client_metadata
            )
            return response
        user.code = _code()
        delivery = await self._send_code(user, "CustomMessage_SignUp", user.code, client_metadata)
        if delivery is not None:
            response["CodeDeliveryDetails"] = delivery
        return response

    async def confirm_sign_up(
        self, username: str, code: str, *, client_metadata: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Cognito's ``ConfirmSignUp``: the code sent at sign-up confirms the user and verifies
        where it went; then Post confirmation (``PostConfirmation_ConfirmSignUp``).

        :raises UserNotFoundException: no such user
        :raises CodeMismatchException: not the code sent
        :raises NotAuthorizedException: the user is not ``UNCONFIRMED``
        :raises UserLambdaValidationException: Post confirmation failed (the user stays
            confirmed)
        """
        user = self._user(username)
        if user.status != "UNCONFIRMED":
            raise NotAuthorizedException(
                f"User cannot be confirmed. Current status is {user.status}"
            )
        if code != user.code:
            raise CodeMismatchException("Invalid verification code provided, please try again.")
        user.code = None
        where = self._delivery_attribute(user)
        if where is not None:
            user.attributes[f"{where}_verified"] = "true"
        self._set_status(user, "CONFIRMED")
        await self._post_confirmation(
            user, "PostConfirmation_ConfirmSignUp", self.client_id, client_metadata
        )
        return {}

    async def admin_confirm_sign_up(
        self, username: str, *, client_metadata: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Cognito's ``AdminConfirmSignUp``: confirms without a code (verifying nothing);
        then Post confirmation.

        :raises UserNotFoundException: no such user
        :raises NotAuthorizedException: the user is not ``UNCONFIRMED``
        :raises UserLambdaValidationException: Post confirmation failed (the user stays
            confirmed)
        """
        user = self._user(username)
        if user.status != "UNCONFIRMED":
            raise NotAuthorizedException(
                f"User cannot be confirmed. Current status is {user.status}"
            )
        user.code = None
        self._set_status(user, "CONFIRMED")
        await self._post_confirmation(
            user, "PostConfirmation_ConfirmSignUp", NO_CLIENT, client_metadata
        )
        return {}

    async def admin_create_user(
        self,
        username: str,
        attributes: Mapping[str, str] | None = None,
        *,
        temporary_password: str | None = None,
        message_action: str | None = None,
        client_metadata: Mapping[str, str] | None = None,
        validation_data: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Cognito's ``AdminCreateUser``: a ``FORCE_CHANGE_PASSWORD`` user with a temporary
        password, sent in a welcome message (``CustomMessage_AdminCreateUser``) unless
        ``message_action="SUPPRESS"``. Pre sign-up runs (``PreSignUp_AdminCreateUser``) and
        may refuse; its answer's flags are ignored, as Cognito ignores them here.

        :return: AdminCreateUser's ``{"User": {...}}``
        """
        _check_username(username)
        values = _attributes(attributes)
        if message_action not in (None, "SUPPRESS", "RESEND"):
            raise InvalidParameterException(
                "1 validation error detected: Value at 'messageAction' failed to satisfy "
                "constraint: Member must satisfy enum value set: [RESEND, SUPPRESS]"
            )
        if username in self._users:
            raise UsernameExistsException("User account already exists")
        password = temporary_password or _temporary_password()
        self._check_password(password)
        request: dict[str, Any] = {
            "userAttributes": dict(values),
            "validationData": None if validation_data is None else dict(validation_data),
        }
        _add_metadata(request, client_metadata)
        await self._trigger(
            "PreSignUp",
            "PreSignUp_AdminCreateUser",
            username,
            NO_CLIENT,
            request,
            {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
        )
        user = self._new_user(username, password, values, "FORCE_CHANGE_PASSWORD")
        self._users[username] = user
        if message_action != "SUPPRESS":
            await self._send_code(user, "CustomMessage_AdminCreateUser", password, client_metadata)
        return {"User": self._user_record(user, "Attributes")}

    async def forgot_password(
        self, username: str, *, client_metadata: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Cognito's ``ForgotPassword``: a reset code to the user's verified email or phone
        (Custom message ``CustomMessage_ForgotPassword``). An unknown user is asked of User
        migration (``UserMigration_ForgotPassword``, without a password).

        :return: ``{"CodeDeliveryDetails": {...}}``
        :raises UserNotFoundException: no such user (and none migrated)
        :raises InvalidParameterException: the user has no verified email or phone number
        """
        _check_username(username)
        user = self._users.get(username)
        if user is None:
            user = await self._migrate(
                username, "UserMigration_ForgotPassword", None, client_metadata
            )
        if self._delivery_attribute(user, verified=True) is None:
            raise InvalidParameterException(
                "Cannot reset password for the user as there is no registered/verified email "
                "or phone_number"
            )
        user.reset_code = _code()
        delivery = await self._send_code(
            user, "CustomMessage_ForgotPassword", user.reset_code, client_metadata, verified=True
        )
        return {"CodeDeliveryDetails": delivery}

    async def confirm_forgot_password(
        self,
        username: str,
        code: str,
        password: str,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Cognito's ``ConfirmForgotPassword``: the reset code sets a new password and leaves
        the user ``CONFIRMED``; then Post confirmation (``PostConfirmation_ConfirmForgotPassword``).

        :raises UserNotFoundException: no such user
        :raises CodeMismatchException: not the code sent
        :raises InvalidPasswordException: the password breaks the policy
        """
        user = self._user(username)
        if user.reset_code is None or code != user.reset_code:
            raise CodeMismatchException("Invalid verification code provided, please try again.")
        self._check_password(password)
        user.reset_code = None
        user.password = password
        self._set_status(user, "CONFIRMED")
        await self._post_confirmation(
            user, "PostConfirmation_ConfirmForgotPassword", self.client_id, client_metadata
        )
        return {}

    async def admin_reset_user_password(
        self, username: str, *, client_metadata: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Cognito's ``AdminResetUserPassword``: the user is ``RESET_REQUIRED`` and is sent a
        reset code (``CustomMessage_ForgotPassword``) for ``confirm_forgot_password``."""
        user = self._user(username)
        self._set_status(user, "RESET_REQUIRED")
        user.reset_code = _code()
        await self._send_code(
            user, "CustomMessage_ForgotPassword", user.reset_code, client_metadata, verified=True
        )
        return {}

    def admin_set_user_password(self, username: str, password: str, *, permanent: bool) -> None:
        """Cognito's ``AdminSetUserPassword``: a permanent password confirms the user, a
        temporary one makes them ``FORCE_CHANGE_PASSWORD`` (no trigger runs)."""
        user = self._user(username)
        self._check_password(password)
        user.password = password
        self._set_status(user, "CONFIRMED" if permanent else "FORCE_CHANGE_PASSWORD")

    def admin_get_user(self, username: str) -> dict[str, Any]:
        """Cognito's ``AdminGetUser``: ``Username``, ``UserAttributes`` (``[{"Name", "Value"}]``),
        ``UserCreateDate``, ``UserLastModifiedDate`` (aware datetimes), ``Enabled`` and
        ``UserStatus`` (``UNCONFIRMED``, ``CONFIRMED``, ``RESET_REQUIRED``,
        ``FORCE_CHANGE_PASSWORD``).

        :raises UserNotFoundException: no such user
        """
        return self._user_record(self._user(username), "UserAttributes")

    def admin_disable_user(self, username: str) -> None:
        """Cognito's ``AdminDisableUser``: the user can no longer sign in."""
        user = self._user(username)
        user.enabled = False
        user.modified = self.clock.time()

    def admin_enable_user(self, username: str) -> None:
        """Cognito's ``AdminEnableUser``."""
        user = self._user(username)
        user.enabled = True
        user.modified = self.clock.time()

    def admin_delete_user(self, username: str) -> None:
        """Cognito's ``AdminDeleteUser``."""
        self._user(username)
        del self._users[username]

    def list_users(self) -> list[str]:
        """The usernames, sorted."""
        return sorted(self._users)


# -- the trigger -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Cognito(Trigger):
    """Attach the function to triggers of a :class:`UserPool` (SAM's ``Cognito`` event):
    the pool invokes it synchronously (``RequestResponse``) during its flows, as
    ``cognito-idp.amazonaws.com`` with the pool's ARN, and obeys its answers.

    The pool reaches the function while an invoker runs it; one pool trigger has one function
    (the one connected last, when several list it).

    :param user_pool: the pool
    :param trigger: a trigger name or a list of them: ``PreSignUp``, ``PostConfirmation``,
        ``PreAuthentication``, ``PostAuthentication``, ``PreTokenGeneration``,
        ``CustomMessage``, ``DefineAuthChallenge``, ``CreateAuthChallenge``,
        ``VerifyAuthChallengeResponse``, ``UserMigration``
    :raises ~faaslib.InvalidParameterValueException: not a :class:`UserPool`, or an unknown
        trigger name
    """

    user_pool: UserPool
    trigger: str | Sequence[str]
    _listed: list[int] = field(default_factory=lambda: [0], init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.user_pool, UserPool):
            raise InvalidParameterValueException("Cognito trigger needs a faaslib UserPool")
        names = (self.trigger,) if isinstance(self.trigger, str) else tuple(self.trigger)
        if not names:
            raise InvalidParameterValueException("Cognito trigger needs at least one Trigger")
        for name in names:
            if name not in TRIGGER_NAMES:
                raise InvalidParameterValueException(
                    f"Cognito Trigger {name!r} is not one of: {', '.join(TRIGGER_NAMES)}"
                )
        object.__setattr__(self, "trigger", names)

    @property
    def names(self) -> tuple[str, ...]:
        """The trigger names, as a tuple."""
        return tuple(self.trigger)

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        return "cognito-idp.amazonaws.com", self.user_pool.arn

    def _attach(self) -> None:
        self._listed[0] += 1

    def _detach(self) -> None:
        self._listed[0] -= 1

    def runner(self, function_name: str, host: TriggerHost) -> CognitoRunner:
        """Connect the invoker to the pool for ``function_name`` (until the runner stops)."""
        self.user_pool.follow(host.site)
        return CognitoRunner(self, function_name, host.invoke)


class CognitoRunner:
    """A :class:`Cognito` trigger running in an invoker: connected to its pool from the
    moment it is made (a flow right after the invoker opens finds it) until :meth:`run` ends
    (the invoker closes, or no function lists the trigger any more). It holds nothing to
    drain: the pool's flows wait for their own invocations."""

    def __init__(
        self, trigger: Cognito, function_name: str, invoke: Callable[..., Awaitable[Any]]
    ) -> None:
        self.trigger = trigger
        self.function_name = function_name
        self._connection = _Connection(trigger, function_name, invoke)
        trigger.user_pool._connect(trigger.names, self._connection)
        self.scope: CancelScope | None = None

    async def run(self) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            self.trigger.user_pool._disconnect(self.trigger.names, self._connection)

    def settled(self) -> bool:
        return True

    async def wait_settled(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<CognitoRunner {self.function_name} {'/'.join(self.trigger.names)}>"


# -- answers -----------------------------------------------------------------------------------


def _answer(name: str, payload: bytes, function_error: str | None) -> dict[str, Any]:
    """The ``response`` object of a trigger's answer.

    :raises UserLambdaValidationException: the function failed
    :raises InvalidLambdaResponseException: the answer is not an event object
    """
    try:
        document = json.loads(payload) if payload else None
    except ValueError:
        document = None
    if function_error is not None:
        message = document.get("errorMessage") if isinstance(document, dict) else None
        raise UserLambdaValidationException(f"{name} failed with error {message}.")
    if not isinstance(document, dict):
        raise InvalidLambdaResponseException("Invalid lambda function output : Invalid JSON")
    response = document.get("response")
    if response is None:
        return {}
    if not isinstance(response, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    return response


def _flag(response: Mapping[str, Any], key: str) -> bool:
    value = response.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    return value


def _string_map(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _override(id_claims: dict[str, Any], access_claims: dict[str, Any], details: object) -> None:
    """Apply Pre token generation's ``claimsOverrideDetails`` to the ID token's claims (and
    its group override to both tokens' ``cognito:groups``)."""
    if details is None:
        return
    if not isinstance(details, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    added = details.get("claimsToAddOrOverride") or {}
    suppressed = details.get("claimsToSuppress") or []
    if not isinstance(added, dict) or not isinstance(suppressed, list):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    id_claims.update({k: v for k, v in added.items() if k not in _FIXED_CLAIMS})
    for key in suppressed:
        if isinstance(key, str) and key not in _FIXED_CLAIMS:
            id_claims.pop(key, None)
    groups = details.get("groupOverrideDetails")
    if isinstance(groups, dict) and groups.get("groupsToOverride"):
        for claims in (id_claims, access_claims):
            claims["cognito:groups"] = list(groups["groupsToOverride"])
        if groups.get("preferredRole"):
            id_claims["cognito:preferred_role"] = groups["preferredRole"]


# -- small parts -------------------------------------------------------------------------------


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


def _opaque_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")


def _claim(key: str, value: str) -> Any:
    if key.endswith("_verified"):
        return value == "true"
    return value


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(claims: Mapping[str, Any]) -> str:
    header = {"kid": "faaslib-example-key", "alg": "RS256"}
    signature = secrets.token_bytes(256)  # an RSA signature's length; it signs nothing
    return ".".join(
        (
            _b64url(json.dumps(header, separators=(",", ":")).encode()),
            _b64url(json.dumps(claims, separators=(",", ":")).encode()),
            _b64url(signature),
        )
    )


def token_claims(token: str) -> dict[str, Any]:
    """The claims (payload) of a token a :class:`UserPool` issued, as a dict (nothing is
    verified: the pool's tokens are JWT-shaped but signed by nothing).

    :raises ValueError: not a JWT-shaped token
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: expected three dot-separated parts")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    return claims


def _masked(destination: str, medium: str) -> str:
    if medium == "SMS":
        return "+*******" + destination[-4:]
    local, _, domain = destination.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def _datetime(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


# -- the event ---------------------------------------------------------------------------------

_DEFAULT_RESPONSES: dict[str, dict[str, Any]] = {
    "PreSignUp": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    "TokenGeneration": {"claimsOverrideDetails": None},
    "CustomMessage": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    "UserMigration": {
        "userAttributes": None,
        "forceAliasCreation": None,
        "enableSMSMFA": None,
        "finalUserStatus": None,
        "messageAction": None,
        "desiredDeliveryMediums": None,
    },
    "DefineAuthChallenge": {"challengeName": None, "issueTokens": None, "failAuthentication": None},
    "CreateAuthChallenge": {
        "publicChallengeParameters": None,
        "privateChallengeParameters": None,
        "challengeMetadata": None,
    },
    "VerifyAuthChallengeResponse": {"answerCorrect": False},
}


def _default_request(trigger_source: str, user_attributes: dict[str, str]) -> dict[str, Any]:
    kind = trigger_source.partition("_")[0]
    if kind == "UserMigration":
        return {"password": "Passw0rd!", "validationData": None}
    request: dict[str, Any] = {"userAttributes": user_attributes}
    if kind in ("PreSignUp", "PreAuthentication"):
        request["validationData"] = None
    elif kind == "PostAuthentication":
        request = {"newDeviceUsed": False, **request}
    elif kind == "TokenGeneration":
        request["groupConfiguration"] = {
            "groupsToOverride": [],
            "iamRolesToOverride": [],
            "preferredRole": None,
        }
    elif kind == "CustomMessage":
        request["codeParameter"] = CODE_PARAMETER
        request["linkParameter"] = LINK_PARAMETER
        admin = trigger_source == "CustomMessage_AdminCreateUser"
        request["usernameParameter"] = USERNAME_PARAMETER if admin else None
    elif kind in ("DefineAuthChallenge", "CreateAuthChallenge"):
        if kind == "CreateAuthChallenge":
            request["challengeName"] = "CUSTOM_CHALLENGE"
        request["session"] = []
    elif kind == "VerifyAuthChallengeResponse":
        request["privateChallengeParameters"] = {}
        request["challengeAnswer"] = ""
    return request


def cognito_trigger_event(
    trigger_source: str = "PreSignUp_SignUp",
    *,
    user_pool_id: str = "us-east-1_EXAMPLE12",
    region: str | None = None,
    user_name: str = "jane",
    client_id: str = "1example23456789abcdefghij",
    user_attributes: Mapping[str, str] | None = None,
    request: Mapping[str, Any] | None = None,
    response: Mapping[str, Any] | None = None,
    sdk_version: str = SDK_VERSION,
) -> dict[str, Any]:
    """A Cognito user pool trigger's event, as the pool sends it.

    ``trigger_source`` names the occasion (``PreSignUp_SignUp``, ``PostConfirmation_ConfirmSignUp``,
    ``PreAuthentication_Authentication``, ``TokenGeneration_Authentication``,
    ``CustomMessage_ForgotPassword``, ``UserMigration_Authentication``, ...); ``request`` and
    ``response`` default to what Cognito sends on it (the request with ``user_attributes``,
    the response with Cognito's defaults). ``region`` defaults to the pool id's.

    :raises ~faaslib.InvalidParameterValueException: an unknown ``trigger_source``
    """
    if trigger_source not in TRIGGER_SOURCES:
        raise InvalidParameterValueException(
            f"Unknown Cognito triggerSource {trigger_source!r}: one of {', '.join(TRIGGER_SOURCES)}"
        )
    kind = trigger_source.partition("_")[0]
    attributes = dict(user_attributes or {"email": "jane@example.com"})
    return {
        "version": "1",
        "triggerSource": trigger_source,
        "region": region if region is not None else user_pool_id.partition("_")[0],
        "userPoolId": user_pool_id,
        "userName": user_name,
        "callerContext": {"awsSdkVersion": sdk_version, "clientId": client_id},
        "request": dict(request)
        if request is not None
        else _default_request(trigger_source, attributes),
        "response": dict(response)
        if response is not None
        else dict(_DEFAULT_RESPONSES.get(kind, {})),
    }
