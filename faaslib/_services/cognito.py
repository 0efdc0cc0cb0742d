"""Amazon Cognito user pools: ``UserPool``, an in-memory user directory whose flows (sign-up,
confirmation, forgotten passwords, sign-in) call the functions of its triggers synchronously,
and the ``Cognito`` trigger (SAM's ``Cognito`` event) that connects an invoker's functions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from .._errors import InvalidParameterException, InvalidParameterValueException
from .._triggers import Trigger, TriggerHost
from .cognito_errors import (
    CodeMismatchException,
    CognitoError,
    InvalidLambdaResponseException,
    InvalidPasswordException,
    NotAuthorizedException,
    PasswordResetRequiredException,
    UnexpectedLambdaException,
    UserLambdaValidationException,
    UsernameExistsException,
    UserNotConfirmedException,
    UserNotFoundException,
)
from .cognito_events import NO_CLIENT, TRIGGER_NAMES, TRIGGER_SOURCES, _flag, cognito_trigger_event
from .cognito_pool import (
    SentMessage,
    _add_metadata,
    _attributes,
    _check_username,
    _code,
    _Connection,
    _temporary_password,
)
from .cognito_sign_in import _SignIn
from .cognito_tokens import token_claims

if TYPE_CHECKING:
    from anyio import CancelScope

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
