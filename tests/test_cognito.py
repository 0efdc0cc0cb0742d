"""Cognito user pools: each trigger end to end through a real Invoker, the pool obeying the
answers, Cognito's errors, the users' states, and the events checked by Powertools."""

from __future__ import annotations

import datetime
from typing import Any

import anyio
import pytest
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import (
    CreateAuthChallengeTriggerEvent,
    CustomMessageTriggerEvent,
    DefineAuthChallengeTriggerEvent,
    PostAuthenticationTriggerEvent,
    PostConfirmationTriggerEvent,
    PreAuthenticationTriggerEvent,
    PreSignUpTriggerEvent,
    PreTokenGenerationTriggerEvent,
    UserMigrationTriggerEvent,
    VerifyAuthChallengeResponseTriggerEvent,
)
from aws_lambda_powertools.utilities.parser.models import (
    CognitoCustomMessageTriggerModel,
    CognitoMigrateUserTriggerModel,
    CognitoPostAuthenticationTriggerModel,
    CognitoPostConfirmationTriggerModel,
    CognitoPreAuthenticationTriggerModel,
    CognitoPreSignupTriggerModel,
    CognitoPreTokenGenerationTriggerModelV1,
)

import faaslib
from faaslib import InvalidParameterException
from faaslib._services.cognito import (
    CodeMismatchException,
    Cognito,
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
    UserPool,
    cognito_trigger_event,
    token_claims,
)

T0 = 1_700_000_000.0
PASSWORD = "Corr3ct-horse"
Events = list[dict[str, Any]]


def attach(
    registry: faaslib.Registry,
    pool: UserPool,
    trigger: str | list[str],
    answer: Any = None,
    **config: Any,
) -> Events:
    """Register a function on ``trigger`` that records each event and answers with
    ``answer(event)`` (default: the event unchanged)."""
    seen: Events = []

    async def handler(event: dict[str, Any]) -> Any:
        seen.append(event)
        return event if answer is None else answer(event)

    name = config.pop("name", "on_" + (trigger if isinstance(trigger, str) else trigger[0]))
    registry.function(name=name, events=[Cognito(pool, trigger)], **config)(handler)
    return seen


def sent_to(pool: UserPool, username: str) -> str:
    """The last code the pool sent to ``username``."""
    return [m for m in pool.sent_messages if m.username == username][-1].code


def status(pool: UserPool, username: str) -> str:
    result: str = pool.admin_get_user(username)["UserStatus"]
    return result


# -- Pre sign-up and Post confirmation ----------------------------------------------------------


async def test_pre_sign_up_confirms_and_verifies_and_post_confirmation_follows() -> None:
    clock = faaslib.VirtualClock(T0)
    pool = UserPool("members")
    registry = faaslib.Registry()

    def trusted(event: dict[str, Any]) -> dict[str, Any]:
        if event["request"]["userAttributes"]["email"].endswith("@example.com"):
            event["response"]["autoConfirmUser"] = True
            event["response"]["autoVerifyEmail"] = True
        return event

    pre = attach(registry, pool, "PreSignUp", trusted)
    post = attach(registry, pool, "PostConfirmation")
    async with faaslib.Invoker(registry, clock=clock, region="eu-west-1") as invoker:
        answer = await pool.sign_up(
            "jane",
            PASSWORD,
            {"email": "jane@example.com", "name": "Jane"},
            client_metadata={"campaign": "spring"},
        )
        outsider = await pool.sign_up("joe", PASSWORD, {"email": "joe@elsewhere.org"})
        await invoker.drain()
    assert answer["UserConfirmed"] is True
    assert "CodeDeliveryDetails" not in answer
    assert outsider["UserConfirmed"] is False
    assert outsider["CodeDeliveryDetails"] == {
        "Destination": "j***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    assert pool.id.startswith("eu-west-1_")  # the pool took the invoker's region
    event = pre[0]
    parsed = CognitoPreSignupTriggerModel.model_validate(event)
    assert parsed.userName == "jane"
    assert parsed.request.clientMetadata == {"campaign": "spring"}
    assert event == {
        "version": "1",
        "triggerSource": "PreSignUp_SignUp",
        "region": "eu-west-1",
        "userPoolId": pool.id,
        "userName": "jane",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": pool.client_id},
        "request": {
            "userAttributes": {"email": "jane@example.com", "name": "Jane"},
            "validationData": None,
            "clientMetadata": {"campaign": "spring"},
        },
        "response": {"autoConfirmUser": True, "autoVerifyEmail": True, "autoVerifyPhone": False},
    }
    assert PreSignUpTriggerEvent(event).response.auto_confirm_user is True
    jane = pool.admin_get_user("jane")
    assert jane["UserStatus"] == "CONFIRMED"
    assert jane["Enabled"] is True
    assert jane["UserCreateDate"] == datetime.datetime.fromtimestamp(T0, datetime.timezone.utc)
    attributes = {a["Name"]: a["Value"] for a in jane["UserAttributes"]}
    assert attributes["email_verified"] == "true"
    assert attributes["sub"] == answer["UserSub"]
    assert status(pool, "joe") == "UNCONFIRMED"
    # The auto-confirmed user reached Post confirmation at sign-up; the other did not.
    [confirmed] = post
    model = CognitoPostConfirmationTriggerModel.model_validate(confirmed)
    assert model.triggerSource == "PostConfirmation_ConfirmSignUp"
    assert confirmed["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    assert confirmed["request"]["clientMetadata"] == {"campaign": "spring"}
    assert confirmed["response"] == {}
    assert PostConfirmationTriggerEvent(confirmed).request.user_attributes["email"] == (
        "jane@example.com"
    )


async def test_a_failing_pre_sign_up_refuses_the_sign_up() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    def refuse(event: dict[str, Any]) -> None:
        raise ValueError("Registration from this domain is not allowed.")

    attach(registry, pool, "PreSignUp", refuse)
    async with faaslib.Invoker(registry):
        with pytest.raises(UserLambdaValidationException) as caught:
            await pool.sign_up("mallory", PASSWORD, {"email": "m@spam.example"})
    assert caught.value.message == (
        "PreSignUp failed with error Registration from this domain is not allowed.."
    )
    assert caught.value.error_type == "UserLambdaValidationException"
    assert caught.value.status_code == 400
    with pytest.raises(UserNotFoundException, match="^User does not exist.$"):
        pool.admin_get_user("mallory")  # nothing was created


async def test_confirm_sign_up_with_the_code_then_post_confirmation() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()
    post = attach(registry, pool, "PostConfirmation")
    async with faaslib.Invoker(registry):
        await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
        [message] = pool.sent_messages
        assert message.trigger_source == "CustomMessage_SignUp"
        assert message.message == f"Your verification code is {message.code}. "
        assert message.destination == "jane@example.com"
        with pytest.raises(UserNotConfirmedException, match="^User is not confirmed.$"):
            await pool.authenticate("jane", PASSWORD)
        with pytest.raises(CodeMismatchException, match="Invalid verification code provided"):
            await pool.confirm_sign_up("jane", "000000" if message.code != "000000" else "1")
        assert post == []
        assert await pool.confirm_sign_up("jane", message.code) == {}
        with pytest.raises(
            NotAuthorizedException, match="^User cannot be confirmed. Current status is CONFIRMED$"
        ):
            await pool.confirm_sign_up("jane", message.code)
    assert status(pool, "jane") == "CONFIRMED"
    [event] = post
    CognitoPostConfirmationTriggerModel.model_validate(event)
    assert event["request"]["userAttributes"]["email_verified"] == "true"
    assert event["callerContext"]["clientId"] == pool.client_id


async def test_admin_confirm_sign_up_runs_post_confirmation_as_no_client() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()
    post = attach(registry, pool, "PostConfirmation")
    async with faaslib.Invoker(registry):
        await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
        await pool.admin_confirm_sign_up("jane", client_metadata={"by": "support"})
    [event] = post
    assert event["callerContext"]["clientId"] == "CLIENT_ID_NOT_APPLICABLE"
    assert event["request"]["clientMetadata"] == {"by": "support"}
    assert status(pool, "jane") == "CONFIRMED"


async def test_a_failing_post_confirmation_fails_the_call_but_the_user_stays_confirmed() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("table unavailable")

    attach(registry, pool, "PostConfirmation", broken)
    async with faaslib.Invoker(registry):
        await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
        with pytest.raises(
            UserLambdaValidationException,
            match="^PostConfirmation failed with error table unavailable.$",
        ):
            await pool.confirm_sign_up("jane", sent_to(pool, "jane"))
    assert status(pool, "jane") == "CONFIRMED"


# -- sign-in: Pre and Post authentication, Pre token generation ---------------------------------


async def confirmed_user(pool: UserPool, name: str = "jane") -> None:
    await pool.sign_up(name, PASSWORD, {"email": f"{name}@example.com", "name": name.title()})
    await pool.admin_confirm_sign_up(name)


async def test_sign_in_runs_pre_and_post_authentication_and_pre_token_generation() -> None:
    clock = faaslib.VirtualClock(T0)
    pool = UserPool("members", clock=clock)
    registry = faaslib.Registry()
    pre = attach(registry, pool, "PreAuthentication")
    post = attach(registry, pool, "PostAuthentication")

    def claims(event: dict[str, Any]) -> dict[str, Any]:
        event["response"]["claimsOverrideDetails"] = {
            "claimsToAddOrOverride": {"tenant": "acme", "name": "J. Doe", "sub": "forged"},
            "claimsToSuppress": ["email"],
            "groupOverrideDetails": {"groupsToOverride": ["admins"], "iamRolesToOverride": []},
        }
        return event

    tokens = attach(registry, pool, "PreTokenGeneration", claims)
    async with faaslib.Invoker(registry, clock=clock):
        await confirmed_user(pool)
        answer = await pool.authenticate("jane", PASSWORD, client_metadata={"ip": "10.0.0.1"})
    result = answer["AuthenticationResult"]
    assert answer["ChallengeParameters"] == {}
    assert result["TokenType"] == "Bearer"
    assert result["ExpiresIn"] == 3600
    id_token = token_claims(result["IdToken"])
    assert id_token["tenant"] == "acme"
    assert id_token["name"] == "J. Doe"
    assert "email" not in id_token
    assert id_token["sub"] == pool.admin_get_user("jane")["UserAttributes"][0]["Value"]
    assert id_token["cognito:groups"] == ["admins"]
    assert id_token["cognito:username"] == "jane"
    assert id_token["token_use"] == "id"
    assert id_token["aud"] == pool.client_id
    assert id_token["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool.id}"
    assert id_token["exp"] == int(T0) + 3600
    access = token_claims(result["AccessToken"])
    assert access["token_use"] == "access"
    assert access["cognito:groups"] == ["admins"]
    assert access["client_id"] == pool.client_id
    [before] = pre
    CognitoPreAuthenticationTriggerModel.model_validate(before)
    assert before["request"]["validationData"] == {"ip": "10.0.0.1"}
    assert PreAuthenticationTriggerEvent(before).request.user_attributes["name"] == "Jane"
    [after] = post
    CognitoPostAuthenticationTriggerModel.model_validate(after)
    assert after["request"]["newDeviceUsed"] is False
    assert "clientMetadata" not in after["request"]  # InitiateAuth's goes to Pre authentication
    assert PostAuthenticationTriggerEvent(after).request.user_attributes["name"] == "Jane"
    [generation] = tokens
    parsed = CognitoPreTokenGenerationTriggerModelV1.model_validate(generation)
    assert parsed.triggerSource == "TokenGeneration_Authentication"
    assert generation["request"]["groupConfiguration"] == {
        "groupsToOverride": [],
        "iamRolesToOverride": [],
        "preferredRole": None,
    }
    typed = PreTokenGenerationTriggerEvent(generation)
    assert typed.response.claims_override_details.claims_to_suppress == ["email"]


async def test_pre_and_post_authentication_errors_refuse_the_sign_in() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    def locked(event: dict[str, Any]) -> dict[str, Any]:
        if event["userName"] == "jane":
            raise PermissionError("Account locked")
        return event

    def audit(event: dict[str, Any]) -> dict[str, Any]:
        if event["userName"] == "joe":
            raise RuntimeError("audit log full")
        return event

    attach(registry, pool, "PreAuthentication", locked)
    attach(registry, pool, "PostAuthentication", audit)
    tokens = attach(registry, pool, "PreTokenGeneration")
    async with faaslib.Invoker(registry):
        await confirmed_user(pool, "jane")
        await confirmed_user(pool, "joe")
        with pytest.raises(
            UserLambdaValidationException, match="^PreAuthentication failed with error Account"
        ):
            await pool.authenticate("jane", PASSWORD)
        with pytest.raises(
            UserLambdaValidationException,
            match="^PostAuthentication failed with error audit log full.$",
        ):
            await pool.authenticate("joe", PASSWORD)
    assert tokens == []  # neither reached token generation


async def test_sign_in_errors_have_cognitos_types_and_messages() -> None:
    pool = UserPool("members")
    async with faaslib.Invoker(faaslib.Registry()):
        await confirmed_user(pool)
        with pytest.raises(NotAuthorizedException, match="^Incorrect username or password.$"):
            await pool.authenticate("jane", "Wr0ng-password")
        with pytest.raises(UserNotFoundException, match="^User does not exist.$"):
            await pool.authenticate("nobody", PASSWORD)
        pool.admin_disable_user("jane")
        assert pool.admin_get_user("jane")["Enabled"] is False
        with pytest.raises(NotAuthorizedException, match="^User is disabled.$"):
            await pool.authenticate("jane", PASSWORD)
        pool.admin_enable_user("jane")
        assert "AuthenticationResult" in await pool.authenticate("jane", PASSWORD)
        with pytest.raises(UsernameExistsException, match="^User already exists$"):
            await pool.sign_up("jane", PASSWORD)
        with pytest.raises(
            InvalidPasswordException,
            match="^Password did not conform with policy: Password not long enough$",
        ):
            await pool.sign_up("short", "Ab1!")
        with pytest.raises(InvalidPasswordException, match="must have symbol characters$"):
            await pool.sign_up("plain", "Abcdefgh1")
    for error in (NotAuthorizedException("x"), UserNotFoundException("x")):
        assert isinstance(error, CognitoError)
        assert isinstance(error, faaslib.FaaslibError)
        assert error.status_code == 400
        assert error.to_dict() == {"Type": "User", "message": "x"}
    assert NotAuthorizedException.error_type == "NotAuthorizedException"


# -- Custom message and forgotten passwords -----------------------------------------------------


async def test_custom_message_writes_the_messages_the_pool_sends() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    def write(event: dict[str, Any]) -> dict[str, Any]:
        code = event["request"]["codeParameter"]
        if event["triggerSource"] == "CustomMessage_SignUp":
            event["response"]["emailSubject"] = "Welcome aboard"
            event["response"]["emailMessage"] = f"Hello {event['userName']}, your code: {code}"
        return event

    seen = attach(registry, pool, "CustomMessage", write)
    post = attach(registry, pool, "PostConfirmation")
    async with faaslib.Invoker(registry):
        await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
        await pool.confirm_sign_up("jane", sent_to(pool, "jane"))
        delivery = await pool.forgot_password("jane", client_metadata={"locale": "en"})
        reset = sent_to(pool, "jane")
        with pytest.raises(CodeMismatchException):
            await pool.confirm_forgot_password("jane", "x", "N3w-password")
        await pool.confirm_forgot_password("jane", reset, "N3w-password")
        with pytest.raises(NotAuthorizedException):
            await pool.authenticate("jane", PASSWORD)
        assert "AuthenticationResult" in await pool.authenticate("jane", "N3w-password")
    welcome, reminder = pool.sent_messages
    assert welcome.subject == "Welcome aboard"
    assert welcome.message == f"Hello jane, your code: {welcome.code}"
    assert welcome.medium == "EMAIL"
    assert reminder.trigger_source == "CustomMessage_ForgotPassword"
    assert reminder.message == f"Your verification code is {reset}. "  # the default text
    assert delivery["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert [e["triggerSource"] for e in seen] == [
        "CustomMessage_SignUp",
        "CustomMessage_ForgotPassword",
    ]
    for event in seen:
        model = CognitoCustomMessageTriggerModel.model_validate(event)
        assert model.request.codeParameter == "{####}"
    assert seen[1]["request"]["clientMetadata"] == {"locale": "en"}
    assert CustomMessageTriggerEvent(seen[0]).request.link_parameter == "{##Click Here##}"
    assert [e["triggerSource"] for e in post] == [
        "PostConfirmation_ConfirmSignUp",
        "PostConfirmation_ConfirmForgotPassword",
    ]


async def test_sms_codes_and_an_unverified_user_cannot_reset_a_password() -> None:
    pool = UserPool("phones", auto_verified_attributes=["phone_number"])
    async with faaslib.Invoker(faaslib.Registry()):
        answer = await pool.sign_up("jane", PASSWORD, {"phone_number": "+12065550100"})
        assert answer["CodeDeliveryDetails"] == {
            "Destination": "+*******0100",
            "DeliveryMedium": "SMS",
            "AttributeName": "phone_number",
        }
        [sms] = pool.sent_messages
        assert sms.subject is None
        await pool.sign_up("joe", PASSWORD, {"email": "joe@example.com"})
        await pool.admin_confirm_sign_up("joe")
        with pytest.raises(InvalidParameterException, match="no registered/verified email"):
            await pool.forgot_password("joe")
        with pytest.raises(UserNotFoundException):
            await pool.forgot_password("nobody")


async def test_admin_reset_makes_the_user_reset_required() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    def verify(event: dict[str, Any]) -> dict[str, Any]:
        event["response"].update(autoConfirmUser=True, autoVerifyEmail=True)
        return event

    attach(registry, pool, "PreSignUp", verify)
    async with faaslib.Invoker(registry):
        await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
        await pool.admin_reset_user_password("jane")
        assert status(pool, "jane") == "RESET_REQUIRED"
        with pytest.raises(
            PasswordResetRequiredException, match="^Password reset required for the user$"
        ):
            await pool.authenticate("jane", PASSWORD)
        await pool.confirm_forgot_password("jane", sent_to(pool, "jane"), "An0ther-one")
    assert status(pool, "jane") == "CONFIRMED"


# -- User migration -----------------------------------------------------------------------------


LEGACY = {"ana": "Leg4cy-pass", "bo": "B0-password!"}


def migrate(event: dict[str, Any]) -> dict[str, Any]:
    name = event["userName"]
    if name not in LEGACY:
        return event  # unchanged: no such user in the old directory
    if event["triggerSource"] == "UserMigration_Authentication":
        if LEGACY[name] != event["request"]["password"]:
            raise ValueError("Bad password")
        event["response"]["finalUserStatus"] = "RESET_REQUIRED" if name == "bo" else "CONFIRMED"
    event["response"]["userAttributes"] = {"email": f"{name}@old.example", "email_verified": "true"}
    event["response"]["messageAction"] = "SUPPRESS"
    return event


async def test_user_migration_creates_unknown_users_at_sign_in() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()
    seen = attach(registry, pool, "UserMigration", migrate)
    async with faaslib.Invoker(registry):
        answer = await pool.authenticate("ana", "Leg4cy-pass", client_metadata={"k": "v"})
        assert "AuthenticationResult" in answer
        again = await pool.authenticate("ana", "Leg4cy-pass")  # now a user of the pool
        assert "AuthenticationResult" in again
        with pytest.raises(
            UserLambdaValidationException, match="^UserMigration failed with error Bad password.$"
        ):
            await pool.authenticate("bo", "guess")
        with pytest.raises(PasswordResetRequiredException):
            await pool.authenticate("bo", "B0-password!")
        with pytest.raises(UserNotFoundException, match="^User does not exist.$"):
            await pool.authenticate("carl", "whatever")
    assert status(pool, "ana") == "CONFIRMED"
    assert status(pool, "bo") == "RESET_REQUIRED"
    attributes = {a["Name"]: a["Value"] for a in pool.admin_get_user("ana")["UserAttributes"]}
    assert attributes["email"] == "ana@old.example"
    assert pool.sent_messages == []  # messageAction SUPPRESS
    assert len(seen) == 4  # ana once, bo twice, carl once
    for event in seen:
        model = CognitoMigrateUserTriggerModel.model_validate(event)
        assert model.triggerSource == "UserMigration_Authentication"
    assert seen[0]["request"] == {
        "password": "Leg4cy-pass",
        "validationData": {"k": "v"},
    }
    assert UserMigrationTriggerEvent(seen[0]).request.password == "Leg4cy-pass"


async def test_user_migration_on_forgot_password() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()
    seen = attach(registry, pool, "UserMigration", migrate)
    async with faaslib.Invoker(registry):
        await pool.forgot_password("ana")
        with pytest.raises(
            UserNotFoundException, match="^Username/client id combination not found.$"
        ):
            await pool.forgot_password("carl")
        await pool.confirm_forgot_password("ana", sent_to(pool, "ana"), "Fr3sh-password")
        assert "AuthenticationResult" in await pool.authenticate("ana", "Fr3sh-password")
    assert seen[0]["triggerSource"] == "UserMigration_ForgotPassword"
    assert "password" not in seen[0]["request"]
    assert UserMigrationTriggerEvent(seen[0]).request.client_metadata == {}


# -- Admin-created users ------------------------------------------------------------------------


async def test_admin_create_user_sends_a_temporary_password_and_asks_for_a_new_one() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    def confirm(event: dict[str, Any]) -> dict[str, Any]:
        event["response"]["autoConfirmUser"] = True  # ignored on AdminCreateUser
        return event

    pre = attach(registry, pool, "PreSignUp", confirm)
    messages = attach(registry, pool, "CustomMessage")
    tokens = attach(registry, pool, "PreTokenGeneration")
    async with faaslib.Invoker(registry):
        created = await pool.admin_create_user(
            "jane", {"email": "jane@example.com"}, temporary_password="Temp-0rary"
        )
        assert created["User"]["UserStatus"] == "FORCE_CHANGE_PASSWORD"
        challenge = await pool.authenticate("jane", "Temp-0rary")
        assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
        assert "AuthenticationResult" not in challenge
        answer = await pool.respond_to_new_password_challenge(challenge["Session"], "Perm-4nent")
        assert "AuthenticationResult" in answer
        with pytest.raises(NotAuthorizedException):
            await pool.respond_to_new_password_challenge(challenge["Session"], "Perm-4nent")
    assert status(pool, "jane") == "CONFIRMED"
    assert pre[0]["triggerSource"] == "PreSignUp_AdminCreateUser"
    assert pre[0]["callerContext"]["clientId"] == "CLIENT_ID_NOT_APPLICABLE"
    [welcome] = pool.sent_messages
    assert welcome.code == "Temp-0rary"
    assert welcome.message == "Your username is jane and temporary password is Temp-0rary. "
    [message] = messages
    CognitoCustomMessageTriggerModel.model_validate(message)
    assert message["request"]["usernameParameter"] == "{username}"
    assert tokens[0]["triggerSource"] == "TokenGeneration_NewPasswordChallenge"


# -- Custom authentication challenges -----------------------------------------------------------


async def test_custom_auth_challenge_triggers() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    def define(event: dict[str, Any]) -> dict[str, Any]:
        session = event["request"]["session"]
        response = event["response"]
        if session and session[-1]["challengeResult"]:
            response.update(issueTokens=True, failAuthentication=False)
        elif len(session) >= 2:
            response.update(issueTokens=False, failAuthentication=True)
        else:
            response.update(challengeName="CUSTOM_CHALLENGE", issueTokens=False)
        return event

    def create(event: dict[str, Any]) -> dict[str, Any]:
        event["response"]["publicChallengeParameters"] = {"question": "2 + 2?"}
        event["response"]["privateChallengeParameters"] = {"answer": "4"}
        event["response"]["challengeMetadata"] = "ARITHMETIC"
        return event

    def verify(event: dict[str, Any]) -> dict[str, Any]:
        request = event["request"]
        expected = request["privateChallengeParameters"]["answer"]
        event["response"]["answerCorrect"] = request["challengeAnswer"] == expected
        return event

    defined = attach(registry, pool, "DefineAuthChallenge", define)
    created = attach(registry, pool, "CreateAuthChallenge", create)
    verified = attach(registry, pool, "VerifyAuthChallengeResponse", verify)
    async with faaslib.Invoker(registry):
        await confirmed_user(pool)
        first = await pool.initiate_custom_auth("jane")
        assert first["ChallengeName"] == "CUSTOM_CHALLENGE"
        assert first["ChallengeParameters"] == {"question": "2 + 2?", "USERNAME": "jane"}
        second = await pool.respond_to_custom_challenge(first["Session"], "5")
        done = await pool.respond_to_custom_challenge(second["Session"], "4")
        assert "AuthenticationResult" in done
        failing = await pool.initiate_custom_auth("jane")
        failing = await pool.respond_to_custom_challenge(failing["Session"], "1")
        with pytest.raises(NotAuthorizedException):
            await pool.respond_to_custom_challenge(failing["Session"], "2")
    last = DefineAuthChallengeTriggerEvent(defined[2])
    assert [
        (s.challenge_name, s.challenge_result, s.challenge_metadata) for s in last.request.session
    ] == [
        ("CUSTOM_CHALLENGE", False, "ARITHMETIC"),
        ("CUSTOM_CHALLENGE", True, "ARITHMETIC"),
    ]
    assert CreateAuthChallengeTriggerEvent(created[0]).request.challenge_name == "CUSTOM_CHALLENGE"
    typed = VerifyAuthChallengeResponseTriggerEvent(verified[0])
    assert typed.request.private_challenge_parameters == {"answer": "4"}
    assert typed.request.challenge_answer == "5"
    for event in defined + created + verified:
        assert event["callerContext"]["clientId"] == pool.client_id


async def test_custom_auth_without_its_trigger_is_refused() -> None:
    pool = UserPool("members")
    async with faaslib.Invoker(faaslib.Registry()):
        await confirmed_user(pool)
        with pytest.raises(InvalidParameterException, match="Custom auth lambda trigger"):
            await pool.initiate_custom_auth("jane")


# -- how the pool invokes, and what it makes of the answers -------------------------------------


async def test_a_trigger_not_answering_in_time_fails_after_three_attempts() -> None:
    pool = UserPool("members", trigger_timeout=0.05)
    registry = faaslib.Registry()
    calls: list[str] = []

    @registry.function(timeout=30, events=[Cognito(pool, "PreSignUp")])
    async def slow(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(event["userName"])
        await anyio.sleep(5)
        return event

    async with faaslib.Invoker(registry):
        with pytest.raises(UnexpectedLambdaException) as caught:
            await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
    assert caught.value.message == (
        "PreSignUp invocation failed due to error Socket timeout while invoking Lambda function."
    )
    assert calls == ["jane"] * 3
    with pytest.raises(UserNotFoundException):
        pool.admin_get_user("jane")


async def test_a_function_timing_out_on_its_own_deadline_is_a_function_error() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    @registry.function(timeout=1, events=[Cognito(pool, "PreAuthentication")])
    async def stuck(event: dict[str, Any]) -> None:
        await anyio.sleep(10)

    async with faaslib.Invoker(registry):
        await confirmed_user(pool)
        with pytest.raises(UserLambdaValidationException) as caught:
            await pool.authenticate("jane", PASSWORD)
    assert caught.value.message.startswith("PreAuthentication failed with error ")
    assert "Task timed out after 1.00 seconds." in caught.value.message


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda event: None, "Invalid lambda function output : Invalid JSON"),
        (lambda event: "ok", "Invalid lambda function output : Invalid JSON"),
        (
            lambda event: {**event, "response": {"autoConfirmUser": "yes"}},
            "Unrecognizable lambda output",
        ),
        (lambda event: {**event, "response": []}, "Unrecognizable lambda output"),
    ],
)
async def test_answers_cognito_cannot_read(answer: Any, message: str) -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()
    attach(registry, pool, "PreSignUp", answer)
    async with faaslib.Invoker(registry):
        with pytest.raises(InvalidLambdaResponseException) as caught:
            await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
    assert caught.value.message == message


async def test_a_sync_handler_answering_without_a_response_is_the_default() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    @registry.function(events=[Cognito(pool, ["PreSignUp", "PostConfirmation"])])
    def both(event: dict[str, Any]) -> dict[str, Any]:
        return {"note": event["triggerSource"]}  # no "response": Cognito's defaults stand

    async with faaslib.Invoker(registry):
        answer = await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
        assert answer["UserConfirmed"] is False
        await pool.confirm_sign_up("jane", sent_to(pool, "jane"))
    assert pool.connected("PreSignUp") is None  # the invoker is closed


async def test_the_pool_invokes_as_cognito_with_its_arn() -> None:
    pool = UserPool("members", account_id="111122223333")
    registry = faaslib.Registry()
    attach(registry, pool, "PreSignUp", name="listed")
    attach(
        registry,
        pool,
        "PostConfirmation",
        name="wired",
    )
    # As a template wiring the pool's LambdaConfig alone: the function needs a statement.
    registry.update("wired", events=[Cognito(pool, "PostConfirmation", implicit_permission=False)])
    async with faaslib.Invoker(registry, check_permissions=True, account_id="111122223333"):
        await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})  # listed: allowed
        with pytest.raises(UnexpectedLambdaException) as caught:
            await pool.admin_confirm_sign_up("jane")
        assert caught.value.message == (
            "PostConfirmation invocation failed due to error AccessDeniedException."
        )
        registry.add_permission(
            "wired", "cognito", "cognito-idp.amazonaws.com", source_arn=pool.arn
        )
        await pool.sign_up("joe", PASSWORD, {"email": "joe@example.com"})
        await pool.admin_confirm_sign_up("joe")
    assert pool.arn == f"arn:aws:cognito-idp:us-east-1:111122223333:userpool/{pool.id}"
    assert Cognito(pool, "PreSignUp").invoked_as("f", pool.site) == (
        "cognito-idp.amazonaws.com",
        pool.arn,
    )


async def test_flows_skip_triggers_no_invoker_runs() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()
    seen = attach(registry, pool, "PreSignUp")
    await pool.sign_up("early", PASSWORD, {"email": "early@example.com"})  # no invoker yet
    async with faaslib.Invoker(registry) as invoker:
        assert pool.connected("PreSignUp") == "on_PreSignUp"
        assert pool.connected("PostConfirmation") is None
        await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
        registry.update("on_PreSignUp", events=[])  # the pool no longer has the trigger
        await invoker.drain()
        await pool.sign_up("late", PASSWORD, {"email": "late@example.com"})
    await pool.sign_up("after", PASSWORD, {"email": "after@example.com"})
    assert [e["userName"] for e in seen] == ["jane"]
    assert pool.list_users() == ["after", "early", "jane", "late"]


def test_the_trigger_checks_its_properties() -> None:
    pool = UserPool("members")
    assert Cognito(pool, ["PreSignUp", "CustomMessage"]).names == ("PreSignUp", "CustomMessage")
    assert Cognito(pool, "UserMigration").names == ("UserMigration",)
    with pytest.raises(faaslib.InvalidParameterValueException, match="PreSignup"):
        Cognito(pool, "PreSignup")
    with pytest.raises(faaslib.InvalidParameterValueException):
        Cognito(pool, [])
    with pytest.raises(faaslib.InvalidParameterValueException):
        Cognito("members", "PreSignUp")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterException):
        UserPool("members", auto_verified_attributes=["name"])
    assert repr(pool).startswith("<UserPool members us-east-1_")


# -- the event factory --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "model"),
    [
        ("PreSignUp_SignUp", CognitoPreSignupTriggerModel),
        ("PostConfirmation_ConfirmSignUp", CognitoPostConfirmationTriggerModel),
        ("PreAuthentication_Authentication", CognitoPreAuthenticationTriggerModel),
        ("PostAuthentication_Authentication", CognitoPostAuthenticationTriggerModel),
        ("TokenGeneration_RefreshTokens", CognitoPreTokenGenerationTriggerModelV1),
        ("CustomMessage_AdminCreateUser", CognitoCustomMessageTriggerModel),
        ("UserMigration_Authentication", CognitoMigrateUserTriggerModel),
    ],
)
def test_the_event_factory_writes_events_powertools_reads(source: str, model: Any) -> None:
    event = cognito_trigger_event(source, user_pool_id="eu-west-1_Abc123XyZ", user_name="jo")
    parsed = model.model_validate(event)
    assert parsed.region == "eu-west-1"
    assert parsed.userName == "jo"
    assert event["triggerSource"] == source


def test_the_event_factory_takes_overrides() -> None:
    event = cognito_trigger_event(
        "PreSignUp_AdminCreateUser",
        user_attributes={"email": "a@b.example"},
        response={"autoConfirmUser": True},
        region="ap-south-1",
    )
    assert event["request"]["userAttributes"] == {"email": "a@b.example"}
    assert event["response"] == {"autoConfirmUser": True}
    assert event["region"] == "ap-south-1"
    define = cognito_trigger_event("DefineAuthChallenge_Authentication")
    assert DefineAuthChallengeTriggerEvent(define).request.session == []
    with pytest.raises(faaslib.InvalidParameterValueException, match="PreSignUp_Signup"):
        cognito_trigger_event("PreSignUp_Signup")
    assert token_claims("a.eyJ4IjoxfQ.c") == {"x": 1}
    with pytest.raises(ValueError, match="not a JWT"):
        token_claims("abc")


async def test_bad_input_gets_cognitos_errors() -> None:
    pool = UserPool("members")
    for bad_name in ("", "two words", "x" * 129, 7):
        with pytest.raises(InvalidParameterException, match="'username' failed to satisfy"):
            await pool.sign_up(bad_name, PASSWORD)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterException):
            await pool.authenticate(bad_name, PASSWORD)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterException):
            pool.admin_get_user(bad_name)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterException, match="'password' failed to satisfy"):
        await pool.sign_up("jane", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterException, match="PASSWORD"):
        await pool.authenticate("jane", b"x")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterException, match="Attributes did not conform"):
        await pool.sign_up("jane", PASSWORD, {"email": 1})  # type: ignore[dict-item]
    with pytest.raises(InvalidParameterException, match="sub: Attribute cannot be updated"):
        await pool.sign_up("jane", PASSWORD, {"sub": "mine"})
    with pytest.raises(InvalidParameterException, match="messageAction"):
        await pool.admin_create_user("jane", message_action="LOUD")
    for timeout in (0, -1, True, "5"):
        with pytest.raises(InvalidParameterException, match="trigger_timeout"):
            UserPool("members", trigger_timeout=timeout)  # type: ignore[arg-type]
    assert pool.list_users() == []


async def test_a_throttled_function_is_an_unexpected_lambda_exception() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()
    attach(registry, pool, "PreSignUp", reserved_concurrency=0)
    async with faaslib.Invoker(registry):
        with pytest.raises(UnexpectedLambdaException) as caught:
            await pool.sign_up("jane", PASSWORD, {"email": "jane@example.com"})
    assert caught.value.message == (
        "PreSignUp invocation failed due to error TooManyRequestsException."
    )
    assert isinstance(caught.value.__cause__, faaslib.TooManyRequestsException)


async def test_a_migrated_user_gets_the_welcome_message_unless_suppressed() -> None:
    pool = UserPool("members")
    registry = faaslib.Registry()

    def welcome(event: dict[str, Any]) -> dict[str, Any]:
        event["response"]["userAttributes"] = {"email": "ana@old.example"}
        return event

    attach(registry, pool, "UserMigration", welcome)
    async with faaslib.Invoker(registry):
        await pool.authenticate("ana", "Leg4cy-pass", client_metadata={"from": "app"})
    [message] = pool.sent_messages
    assert message.trigger_source == "CustomMessage_AdminCreateUser"
    assert message.destination == "ana@old.example"
    assert status(pool, "ana") == "CONFIRMED"  # finalUserStatus not set: CONFIRMED
