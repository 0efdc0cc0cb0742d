"""The Alexa Skills Kit: ``AlexaDevice``, a user's device speaking to a custom skill whose
endpoint is a function, and ``AlexaSkill``, SAM's event that lets Alexa invoke it.

The device sends the function the Alexa request envelope (``LaunchRequest``,
``IntentRequest``, ``SessionEndedRequest``) synchronously (invocation type RequestResponse)
as ``alexa-appkit.amazon.com``, checks the response envelope as Alexa does, and carries the
answer's ``sessionAttributes`` to the next request of the session. A failed function or an
invalid response ends the session as Alexa ends it: a ``SessionEndedRequest`` with reason
``ERROR`` and error ``INVALID_RESPONSE`` is sent, and :class:`SkillResponseError` raised
(what the user hears: "There was a problem with the requested skill's response").

Simplified: one user on one voice-only device per :class:`AlexaDevice`; utterances are not
resolved (the caller names the intent and its slot values); no dialog model (no
``dialogState``); directives are checked for a ``type`` only; a response without
``shouldEndSession`` ends the session, as on a device without a screen.
"""

from __future__ import annotations

import datetime
import json
import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._errors import FaaslibError, InvalidParameterValueException
from .._site import FollowsSite, Site
from .._triggers import Trigger, TriggerHost

if TYPE_CHECKING:
    from anyio import CancelScope

    from .._clock import Clock
    from .._triggers import Invokes as Invoker

__all__ = [
    "AlexaDevice",
    "AlexaSkill",
    "SkillResponseError",
    "alexa_skill_event",
    "new_skill_id",
]

PRINCIPAL = "alexa-appkit.amazon.com"
API_ENDPOINT = "https://api.amazonalexa.com"
#: Alexa's limits on a response: the whole envelope, and each speech's text.
MAX_RESPONSE_BYTES = 120 * 1024
MAX_SPEECH_CHARACTERS = 8000
DISPATCH_ERROR = "An exception occurred while dispatching the request to the skill."
PROBLEM = "There was a problem with the requested skill's response"
EndReason = Literal["USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS"]
ConfirmationStatus = Literal["NONE", "CONFIRMED", "DENIED"]
_REASONS = ("USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS")
_CONFIRMATIONS = ("NONE", "CONFIRMED", "DENIED")
_PLAY_BEHAVIORS = ("ENQUEUE", "REPLACE_ALL", "REPLACE_ENQUEUED")
_CARDS: dict[str, tuple[str, ...]] = {
    "Simple": ("title", "content"),
    "Standard": ("title", "text"),
    "LinkAccount": (),
    "AskForPermissionsConsent": ("permissions",),
}


class SkillResponseError(FaaslibError):
    """The skill's function failed or answered a response Alexa cannot use; Alexa ended the
    session (``SessionEndedRequest``, reason ``ERROR``).

    :ivar error: the ``error`` object of that ``SessionEndedRequest``
    :ivar why: what was wrong with the response
    """

    error_type = "INVALID_RESPONSE"
    status_code = 400
    fault = "User"

    def __init__(self, why: str) -> None:
        super().__init__(f"{PROBLEM}: {why}")
        self.why = why
        self.error = {"type": "INVALID_RESPONSE", "message": DISPATCH_ERROR}


def new_skill_id() -> str:
    """A skill id as the developer console gives one: ``amzn1.ask.skill.<uuid>``."""
    return f"amzn1.ask.skill.{uuid.uuid4()}"


def _opaque(prefix: str, length: int) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _timestamp(now: float) -> str:
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- requests ----------------------------------------------------------------------------------


def intent_object(
    name: str,
    slots: Mapping[str, str | None] | None = None,
    confirmation_status: ConfirmationStatus = "NONE",
) -> dict[str, Any]:
    """An ``IntentRequest``'s intent: each slot by name, a value when one was said."""
    if confirmation_status not in _CONFIRMATIONS:
        raise InvalidParameterValueException(
            f"confirmationStatus must be one of {', '.join(_CONFIRMATIONS)}"
        )
    filled: dict[str, Any] = {}
    for slot, value in (slots or {}).items():
        filled[slot] = {"name": slot, "confirmationStatus": "NONE"}
        if value is not None:
            filled[slot]["value"] = value
            filled[slot]["source"] = "USER"
    return {"name": name, "confirmationStatus": confirmation_status, "slots": filled}


def request_envelope(
    request: Mapping[str, Any],
    *,
    skill_id: str,
    session_id: str,
    new: bool,
    attributes: Mapping[str, Any] | None,
    user_id: str,
    device_id: str,
    supported_interfaces: Mapping[str, Any] | None = None,
    api_access_token: str = "",
) -> dict[str, Any]:
    """The envelope Alexa sends a skill: ``version``, ``session``, ``context``, ``request``.
    A new session's ``session`` has no ``attributes``."""
    session: dict[str, Any] = {
        "new": new,
        "sessionId": session_id,
        "application": {"applicationId": skill_id},
    }
    if not new or attributes:
        session["attributes"] = json.loads(json.dumps(dict(attributes or {})))
    session["user"] = {"userId": user_id}
    return {
        "version": "1.0",
        "session": session,
        "context": {
            "System": {
                "application": {"applicationId": skill_id},
                "user": {"userId": user_id},
                "device": {
                    "deviceId": device_id,
                    "supportedInterfaces": dict(supported_interfaces or {}),
                },
                "apiEndpoint": API_ENDPOINT,
                "apiAccessToken": api_access_token,
            }
        },
        "request": dict(request),
    }


def _request(
    kind: str, request_id: str, timestamp: str, locale: str, **fields: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "requestId": request_id,
        "timestamp": timestamp,
        "locale": locale,
        **{k: v for k, v in fields.items() if v is not None},
    }


def alexa_skill_event(
    request_type: Literal["LaunchRequest", "IntentRequest", "SessionEndedRequest"] = (
        "LaunchRequest"
    ),
    *,
    intent: str = "HelloWorldIntent",
    slots: Mapping[str, str | None] | None = None,
    confirmation_status: ConfirmationStatus = "NONE",
    reason: EndReason = "USER_INITIATED",
    error: Mapping[str, str] | None = None,
    skill_id: str = "amzn1.ask.skill.00000000-0000-4000-8000-000000000000",
    session_id: str | None = None,
    new: bool | None = None,
    attributes: Mapping[str, Any] | None = None,
    locale: str = "en-US",
    user_id: str = "amzn1.ask.account.TESTUSER",
    device_id: str = "amzn1.ask.device.TESTDEVICE",
    timestamp: str = "2026-12-05T09:00:00Z",
) -> dict[str, Any]:
    """A request envelope as Alexa sends a custom skill's function: ``intent`` and ``slots``
    for an IntentRequest, ``reason`` (and ``error``) for a SessionEndedRequest. The session is
    new for a LaunchRequest unless ``new`` says otherwise."""
    fields: dict[str, Any] = {}
    if request_type == "IntentRequest":
        fields["intent"] = intent_object(intent, slots, confirmation_status)
    elif request_type == "SessionEndedRequest":
        fields["reason"] = reason
        fields["error"] = None if error is None else dict(error)
    request = _request(
        request_type, f"amzn1.echo-api.request.{uuid.uuid4()}", timestamp, locale, **fields
    )
    return request_envelope(
        request,
        skill_id=skill_id,
        session_id=session_id or f"amzn1.echo-api.session.{uuid.uuid4()}",
        new=request_type == "LaunchRequest" if new is None else new,
        attributes=attributes,
        user_id=user_id,
        device_id=device_id,
    )


# -- responses ---------------------------------------------------------------------------------


def read_response(payload: bytes, function_error: str | None) -> dict[str, Any]:
    """A skill's response envelope, checked as Alexa checks it.

    :raises SkillResponseError: the function failed or the response is invalid
    """
    if function_error is not None:
        raise SkillResponseError(f"the function failed ({function_error})")
    if len(payload) > MAX_RESPONSE_BYTES:
        raise SkillResponseError(f"the response is over {MAX_RESPONSE_BYTES} bytes")
    try:
        document = json.loads(payload) if payload else None
    except ValueError:
        raise SkillResponseError("the response is not JSON") from None
    if not isinstance(document, dict):
        raise SkillResponseError("the response is not a JSON object")
    if not isinstance(document.get("version"), str):
        raise SkillResponseError("version must be a string")
    attributes = document.get("sessionAttributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise SkillResponseError("sessionAttributes must be an object")
    response = document.get("response")
    if not isinstance(response, dict):
        raise SkillResponseError("response must be an object")
    _check_speech(response.get("outputSpeech"), "response.outputSpeech")
    reprompt = response.get("reprompt")
    if reprompt is not None:
        if not isinstance(reprompt, dict):
            raise SkillResponseError("response.reprompt must be an object")
        _check_speech(reprompt.get("outputSpeech"), "response.reprompt.outputSpeech")
    _check_card(response.get("card"))
    end = response.get("shouldEndSession")
    if end is not None and not isinstance(end, bool):
        raise SkillResponseError("response.shouldEndSession must be a boolean")
    directives = response.get("directives")
    if directives is not None and not (
        isinstance(directives, list)
        and all(isinstance(d, dict) and isinstance(d.get("type"), str) for d in directives)
    ):
        raise SkillResponseError("response.directives must be a list of objects with a type")
    return document


def _check_speech(speech: object, where: str) -> None:
    if speech is None:
        return
    if not isinstance(speech, dict):
        raise SkillResponseError(f"{where} must be an object")
    kind = speech.get("type")
    if kind == "PlainText":
        text = speech.get("text")
    elif kind == "SSML":
        text = speech.get("ssml")
        if not isinstance(text, str) or not (
            text.strip().startswith("<speak>") and text.strip().endswith("</speak>")
        ):
            raise SkillResponseError(f"{where}.ssml must be SSML wrapped in <speak> tags")
    else:
        raise SkillResponseError(f"{where}.type must be PlainText or SSML")
    if not isinstance(text, str):
        raise SkillResponseError(f"{where}.text must be a string")
    if len(text) > MAX_SPEECH_CHARACTERS:
        raise SkillResponseError(f"{where} is over {MAX_SPEECH_CHARACTERS} characters")
    behavior = speech.get("playBehavior")
    if behavior is not None and behavior not in _PLAY_BEHAVIORS:
        raise SkillResponseError(
            f"{where}.playBehavior must be one of {', '.join(_PLAY_BEHAVIORS)}"
        )


def _check_card(card: object) -> None:
    if card is None:
        return
    if not isinstance(card, dict) or card.get("type") not in _CARDS:
        raise SkillResponseError(f"response.card.type must be one of {', '.join(_CARDS)}")
    for key in _CARDS[card["type"]]:
        if key not in card:
            raise SkillResponseError(f"a {card['type']} card needs its {key}")


# -- the skill ---------------------------------------------------------------------------------


class AlexaDevice(FollowsSite):
    """A user's voice-only device speaking to the custom skill whose endpoint is ``function``.

    :meth:`launch`, :meth:`intent` and :meth:`end_session` send the function Alexa's
    requests and return its (checked) response envelope. A session starts with a launch (or a
    one-shot intent), carries the response's ``sessionAttributes`` to its next request, and
    ends when a response says ``shouldEndSession`` true (or leaves it out), or with
    :meth:`end_session`, as when the user says "stop" or stays silent after the reprompts.

    :param skill_id: the skill's id (``amzn1.ask.skill.<uuid>``; a new one by default): the
        requests' ``applicationId`` and the event source token Alexa invokes with (faaslib's
        policies have no ``EventSourceToken`` condition: the skill id is checked where they
        check a source ARN, ``add_permission(..., "alexa-appkit.amazon.com",
        source_arn=skill_id)``)
    :param supported_interfaces: the device's ``supportedInterfaces`` (e.g. ``AudioPlayer``)
    """

    def __init__(
        self,
        function: str,
        skill_id: str | None = None,
        *,
        locale: str = "en-US",
        user_id: str | None = None,
        device_id: str | None = None,
        supported_interfaces: Mapping[str, Any] | None = None,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        _check_skill_id(skill_id)
        self._settle(region, account_id, clock)
        self.function = function
        self.skill_id = skill_id or new_skill_id()
        self.locale = locale
        self.user_id = user_id or _opaque("amzn1.ask.account.", 64)
        self.device_id = device_id or _opaque("amzn1.ask.device.", 64)
        self.supported_interfaces = dict(supported_interfaces or {})
        self.session_id: str | None = None
        #: The open session's attributes (the last response's ``sessionAttributes``).
        self.session_attributes: dict[str, Any] = {}
        self._new = False
        #: Every request sent, oldest first.
        self.requests: list[dict[str, Any]] = []

    @property
    def session_open(self) -> bool:
        return self.session_id is not None

    def __repr__(self) -> str:
        state = "open" if self.session_open else "closed"
        return f"<AlexaDevice {self.skill_id} {self.function} session {state}>"

    async def launch(self, invoker: Invoker) -> dict[str, Any]:
        """A ``LaunchRequest`` in a new session (the user says "Alexa, open <skill>")."""
        self._start()
        return await self._exchange(invoker, "LaunchRequest")

    async def intent(
        self,
        invoker: Invoker,
        name: str,
        slots: Mapping[str, str | None] | None = None,
        *,
        confirmation_status: ConfirmationStatus = "NONE",
    ) -> dict[str, Any]:
        """An ``IntentRequest``: in the open session, or a new one (a one-shot request).

        :param slots: each slot of the intent, with the value said or ``None``
        """
        if not isinstance(name, str) or not name:
            raise InvalidParameterValueException("An intent needs its name")
        intent = intent_object(name, slots, confirmation_status)
        if not self.session_open:
            self._start()
        return await self._exchange(invoker, "IntentRequest", intent=intent)

    async def end_session(
        self,
        invoker: Invoker,
        reason: EndReason = "USER_INITIATED",
        error: Mapping[str, str] | None = None,
    ) -> None:
        """A ``SessionEndedRequest`` for the open session; its response is not read (a skill
        cannot answer one).

        :raises InvalidParameterValueException: no session is open, or an unknown reason
        """
        if reason not in _REASONS:
            raise InvalidParameterValueException(f"reason must be one of {', '.join(_REASONS)}")
        if not self.session_open:
            raise InvalidParameterValueException("No session of the skill is open")
        await self._send(invoker, "SessionEndedRequest", reason=reason, error=error)
        self._close()

    def _start(self) -> None:
        self.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
        self.session_attributes = {}
        self._new = True

    def _close(self) -> None:
        self.session_id = None
        self.session_attributes = {}

    async def _exchange(self, invoker: Invoker, kind: str, **fields: Any) -> dict[str, Any]:
        result = await self._send(invoker, kind, **fields)
        try:
            if isinstance(result, FaaslibError):
                raise SkillResponseError(f"the function could not be invoked ({result.error_type})")
            document = read_response(*result)
        except SkillResponseError as failure:
            await self._send(invoker, "SessionEndedRequest", reason="ERROR", error=failure.error)
            self._close()
            raise
        if document["response"].get("shouldEndSession") is False:
            self.session_attributes = dict(document.get("sessionAttributes") or {})
        else:
            self._close()
        return document

    async def _send(
        self, invoker: Invoker, kind: str, **fields: Any
    ) -> tuple[bytes, str | None] | FaaslibError:
        """Send one request of the open session: the function's payload and error, or the
        error that kept it from being invoked."""
        assert self.session_id is not None
        self.follow(invoker.site)
        request = _request(
            kind,
            f"amzn1.echo-api.request.{uuid.uuid4()}",
            _timestamp(self.clock.time()),
            self.locale,
            **fields,
        )
        envelope = request_envelope(
            request,
            skill_id=self.skill_id,
            session_id=self.session_id,
            new=self._new,
            attributes=self.session_attributes,
            user_id=self.user_id,
            device_id=self.device_id,
            supported_interfaces=self.supported_interfaces,
            api_access_token=_opaque("", 32),
        )
        self._new = False
        self.requests.append(envelope)
        try:
            result = await invoker.invoke(
                self.function,
                envelope,
                "RequestResponse",
                principal=PRINCIPAL,
                source_arn=self.skill_id,
            )
        except FaaslibError as exc:
            return exc
        return result.payload, result.function_error


def _check_skill_id(skill_id: object) -> None:
    if skill_id is not None and not (
        isinstance(skill_id, str) and skill_id.startswith("amzn1.ask.skill.")
    ):
        raise InvalidParameterValueException(
            f"The skill id {skill_id!r} is not an Alexa skill id (amzn1.ask.skill.<uuid>)"
        )


# -- the trigger -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AlexaSkill(Trigger):
    """SAM's ``AlexaSkill`` event: the function's policy lets Alexa
    (``alexa-appkit.amazon.com``) invoke it for skill ``skill_id`` (SAM's ``SkillId``, the
    permission's event source token). An :class:`AlexaDevice` drives the skill; the trigger
    runs nothing itself.

    Without ``skill_id`` SAM lets any skill invoke the function; faaslib cannot say "any
    skill" in the function's policy, so such a function needs
    :meth:`~faaslib.Registry.add_permission` when an invoker checks permissions.
    """

    skill_id: str | None = None

    def __post_init__(self) -> None:
        _check_skill_id(self.skill_id)

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str] | None:
        return None if self.skill_id is None else (PRINCIPAL, self.skill_id)

    def runner(self, function_name: str, host: TriggerHost) -> _IdleRunner:
        return _IdleRunner()


class _IdleRunner:
    """The runner of a trigger whose service calls the invoker itself: nothing to run."""

    def __init__(self) -> None:
        self.scope: CancelScope | None = None

    async def run(self) -> None:
        return None

    def settled(self) -> bool:
        return True

    async def wait_settled(self) -> None:
        return None
