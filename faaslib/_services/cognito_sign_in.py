"""A Cognito user pool's sign-in flows: passwords, new-password and custom challenges, users
migrated on the way, and the tokens issued after Pre token generation."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from .._errors import InvalidParameterException
from .cognito_errors import (
    InvalidLambdaResponseException,
    NotAuthorizedException,
    PasswordResetRequiredException,
    UserNotConfirmedException,
    UserNotFoundException,
)
from .cognito_events import _flag, _string_map, _text
from .cognito_pool import (
    _add_metadata,
    _attributes,
    _check_username,
    _PoolCore,
    _Session,
    _temporary_password,
    _User,
)
from .cognito_tokens import TOKEN_LIFETIME, _claim, _jwt, _opaque_token, _override

__all__: list[str] = []


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
