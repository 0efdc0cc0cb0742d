"""The events a Cognito user pool sends its triggers (``cognito_trigger_event``, with Cognito's
default requests and responses), and the reading of the functions' answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._errors import InvalidParameterValueException
from .cognito_errors import InvalidLambdaResponseException, UserLambdaValidationException

__all__ = [
    "CODE_PARAMETER",
    "LINK_PARAMETER",
    "NO_CLIENT",
    "SDK_VERSION",
    "TRIGGER_NAMES",
    "TRIGGER_SOURCES",
    "USERNAME_PARAMETER",
    "cognito_trigger_event",
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
#: The ``clientId`` of the events of administrative calls (``AdminCreateUser``, ...).
NO_CLIENT = "CLIENT_ID_NOT_APPLICABLE"
SDK_VERSION = "aws-sdk-unknown-unknown"
CODE_PARAMETER = "{####}"
LINK_PARAMETER = "{##Click Here##}"
USERNAME_PARAMETER = "{username}"


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
