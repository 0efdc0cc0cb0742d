"""The Alexa Skills Kit: a custom skill's function through a real Invoker; the request
envelopes' shapes, the responses obeyed and checked, session attributes carried through a
session, and an invalid response ending the session as Alexa ends it. (Powertools has no
Alexa model or data class: the shapes are checked here, field by field.)"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest

import faaslib
from faaslib import InvalidParameterValueException
from faaslib._services.alexa import (
    DISPATCH_ERROR,
    AlexaDevice,
    AlexaSkill,
    SkillResponseError,
    alexa_skill_event,
    new_skill_id,
)
from faaslib._site import DEFAULT_SITE

T0 = 1_700_000_000.0
Events = list[dict[str, Any]]
_ID = re.compile(r"amzn1\.echo-api\.(request|session)\.[0-9a-f-]{36}")


def check_envelope(event: dict[str, Any]) -> None:
    """A request envelope as Alexa sends a custom skill."""
    assert list(event) == ["version", "session", "context", "request"]
    assert event["version"] == "1.0"
    session = event["session"]
    assert isinstance(session["new"], bool)
    assert _ID.fullmatch(session["sessionId"])
    assert session["application"]["applicationId"].startswith("amzn1.ask.skill.")
    assert session["user"]["userId"].startswith("amzn1.ask.account.")
    assert ("attributes" in session) is (not session["new"] or bool(session.get("attributes")))
    system = event["context"]["System"]
    assert system["application"] == session["application"]
    assert system["user"] == session["user"]
    assert system["device"]["deviceId"].startswith("amzn1.ask.device.")
    assert isinstance(system["device"]["supportedInterfaces"], dict)
    assert system["apiEndpoint"] == "https://api.amazonalexa.com"
    assert isinstance(system["apiAccessToken"], str)
    request = event["request"]
    assert request["type"] in ("LaunchRequest", "IntentRequest", "SessionEndedRequest")
    assert _ID.fullmatch(request["requestId"])
    datetime.datetime.strptime(request["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    if request["type"] == "IntentRequest":
        intent = request["intent"]
        assert intent["confirmationStatus"] in ("NONE", "CONFIRMED", "DENIED")
        for name, slot in intent["slots"].items():
            assert slot["name"] == name
            assert slot["confirmationStatus"] == "NONE"
    if request["type"] == "SessionEndedRequest":
        assert request["reason"] in ("USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS")
    json.dumps(event)


def speak(text: str, *, end: bool | None, attributes: Any = None, **extra: Any) -> Any:
    response: dict[str, Any] = {"outputSpeech": {"type": "PlainText", "text": text}, **extra}
    if end is not None:
        response["shouldEndSession"] = end
    document: dict[str, Any] = {"version": "1.0", "response": response}
    if attributes is not None:
        document["sessionAttributes"] = attributes
    return document


def counter(event: dict[str, Any]) -> Any:
    """A skill that counts the intents of a session and stops on StopIntent."""
    request = event["request"]
    if request["type"] == "SessionEndedRequest":
        return None
    if request["type"] == "LaunchRequest":
        return speak(
            "Welcome. Say a number.",
            end=False,
            attributes={"count": 0},
            reprompt={"outputSpeech": {"type": "SSML", "ssml": "<speak>A number?</speak>"}},
        )
    intent = request["intent"]
    if intent["name"] == "AMAZON.StopIntent":
        return speak("Goodbye.", end=True)
    count = event["session"].get("attributes", {}).get("count", 0) + 1
    number = intent["slots"]["Number"].get("value", "nothing")
    return speak(
        f"You said {number}.",
        end=False,
        attributes={"count": count},
        card={"type": "Simple", "title": "Numbers", "content": number},
    )


def skill_function(
    registry: faaslib.Registry, answer: Any, name: str = "skill", events: Any = ()
) -> Events:
    seen: Events = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)
        return answer(event)

    registry.function(name=name, events=list(events))(handler)
    return seen


async def test_a_session_carries_its_attributes_until_the_skill_ends_it() -> None:
    registry = faaslib.Registry()
    skill_id = new_skill_id()
    seen = skill_function(registry, counter, events=[AlexaSkill(skill_id)])
    skill = AlexaDevice("skill", skill_id, locale="en-GB")
    async with faaslib.Invoker(
        registry, clock=faaslib.VirtualClock(T0), check_permissions=True, account_id="111122223333"
    ) as invoker:
        welcome = await skill.launch(invoker)
        assert skill.session_open
        first = await skill.intent(invoker, "NumberIntent", {"Number": "7"})
        second = await skill.intent(invoker, "NumberIntent", {"Number": None})
        assert skill.session_attributes == {"count": 2}
        goodbye = await skill.intent(invoker, "AMAZON.StopIntent")
    assert welcome["response"]["reprompt"]["outputSpeech"]["ssml"] == "<speak>A number?</speak>"
    assert first["response"]["outputSpeech"]["text"] == "You said 7."
    assert first["response"]["card"] == {"type": "Simple", "title": "Numbers", "content": "7"}
    assert second["response"]["outputSpeech"]["text"] == "You said nothing."
    assert goodbye["response"]["shouldEndSession"] is True
    assert not skill.session_open  # ended by the skill: no SessionEndedRequest follows
    assert [e["request"]["type"] for e in seen] == ["LaunchRequest"] + ["IntentRequest"] * 3
    for event in seen:
        check_envelope(event)
    launch, one, two, stop = seen
    assert launch["session"]["new"] is True
    assert "attributes" not in launch["session"]
    assert launch["session"]["application"]["applicationId"] == skill.skill_id
    assert launch["request"]["locale"] == "en-GB"
    assert launch["request"]["timestamp"] == "2023-11-14T22:13:20Z"
    assert one["session"]["new"] is False
    assert one["session"]["attributes"] == {"count": 0}
    assert one["request"]["intent"] == {
        "name": "NumberIntent",
        "confirmationStatus": "NONE",
        "slots": {
            "Number": {
                "name": "Number",
                "confirmationStatus": "NONE",
                "value": "7",
                "source": "USER",
            }
        },
    }
    assert two["request"]["intent"]["slots"]["Number"] == {
        "name": "Number",
        "confirmationStatus": "NONE",
    }
    assert stop["session"]["attributes"] == {"count": 2}
    assert len({e["session"]["sessionId"] for e in seen}) == 1
    assert len({e["request"]["requestId"] for e in seen}) == 4
    assert skill.requests == seen


async def test_a_one_shot_intent_starts_a_session_and_end_session_sends_its_reason() -> None:
    registry = faaslib.Registry()
    seen = skill_function(registry, counter)
    skill = AlexaDevice("skill", supported_interfaces={"AudioPlayer": {}})
    async with faaslib.Invoker(registry) as invoker:
        await skill.intent(
            invoker, "NumberIntent", {"Number": "3"}, confirmation_status="CONFIRMED"
        )
        session = skill.session_id
        await skill.end_session(invoker, "EXCEEDED_MAX_REPROMPTS")
        assert not skill.session_open
        with pytest.raises(InvalidParameterValueException, match="No session"):
            await skill.end_session(invoker)
        await skill.launch(invoker)
    one_shot, ended, launch = seen
    for event in seen:
        check_envelope(event)
    assert one_shot["session"]["new"] is True
    assert one_shot["request"]["intent"]["confirmationStatus"] == "CONFIRMED"
    assert one_shot["context"]["System"]["device"]["supportedInterfaces"] == {"AudioPlayer": {}}
    assert ended["session"]["sessionId"] == session
    assert ended["session"]["attributes"] == {"count": 1}
    assert ended["request"]["reason"] == "EXCEEDED_MAX_REPROMPTS"
    assert "error" not in ended["request"]
    assert launch["session"]["sessionId"] != session
    assert launch["session"]["new"] is True


async def test_a_response_without_should_end_session_ends_it() -> None:
    registry = faaslib.Registry()
    skill_function(registry, lambda event: speak("Done.", end=None, attributes={"a": 1}))
    skill = AlexaDevice("skill")
    async with faaslib.Invoker(registry) as invoker:
        answer = await skill.launch(invoker)
    assert answer == {
        "version": "1.0",
        "response": {"outputSpeech": {"type": "PlainText", "text": "Done."}},
        "sessionAttributes": {"a": 1},
    }
    assert not skill.session_open


def _replace(**response: Any) -> Any:
    def answer(event: dict[str, Any]) -> Any:
        if event["request"]["type"] == "SessionEndedRequest":
            return None
        document = speak("Hi.", end=False)
        document["response"].update(response)
        return document

    return answer


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda event: "hello", "the response is not a JSON object"),
        (lambda event: {"response": {}}, "version must be a string"),
        (lambda event: {"version": "1.0"}, "response must be an object"),
        (
            lambda event: {"version": "1.0", "response": {}, "sessionAttributes": []},
            "sessionAttributes",
        ),
        (_replace(outputSpeech={"type": "Text", "text": "x"}), "type must be PlainText or SSML"),
        (_replace(outputSpeech={"type": "PlainText"}), "text must be a string"),
        (_replace(outputSpeech={"type": "SSML", "ssml": "hi"}), "wrapped in <speak> tags"),
        (_replace(outputSpeech={"type": "PlainText", "text": "x" * 8001}), "over 8000 characters"),
        (_replace(reprompt={"outputSpeech": {"type": "PlainText", "text": 3}}), "reprompt"),
        (_replace(card={"type": "Simple", "title": "t"}), "a Simple card needs its content"),
        (_replace(card={"type": "Poster"}), "card.type must be one of"),
        (_replace(shouldEndSession="no"), "shouldEndSession must be a boolean"),
        (_replace(directives=[{"token": "x"}]), "directives must be a list of objects"),
    ],
)
async def test_an_invalid_response_ends_the_session_with_an_error(answer: Any, why: str) -> None:
    registry = faaslib.Registry()
    seen = skill_function(registry, answer)
    skill = AlexaDevice("skill")
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(SkillResponseError) as caught:
            await skill.launch(invoker)
    assert str(caught.value).startswith("There was a problem with the requested skill's response")
    assert why in caught.value.why
    assert caught.value.error_type == "INVALID_RESPONSE"
    assert not skill.session_open
    launch, ended = seen
    check_envelope(ended)
    assert ended["session"]["sessionId"] == launch["session"]["sessionId"]
    assert ended["request"]["reason"] == "ERROR"
    assert ended["request"]["error"] == {"type": "INVALID_RESPONSE", "message": DISPATCH_ERROR}


async def test_a_failing_or_forbidden_function_is_an_invalid_response() -> None:
    registry = faaslib.Registry()

    def crash(event: dict[str, Any]) -> Any:
        if event["request"]["type"] == "IntentRequest":
            raise RuntimeError("boom")
        return speak("Hi.", end=False)

    seen = skill_function(registry, crash)
    skill = AlexaDevice("skill")
    async with faaslib.Invoker(registry) as invoker:
        await skill.launch(invoker)
        with pytest.raises(SkillResponseError, match=r"the function failed \(Unhandled\)"):
            await skill.intent(invoker, "HelloIntent")
    assert seen[-1]["request"]["reason"] == "ERROR"
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        with pytest.raises(SkillResponseError, match="AccessDeniedException"):
            await skill.launch(invoker)


async def test_bad_calls_are_refused() -> None:
    with pytest.raises(InvalidParameterValueException, match="not an Alexa skill id"):
        AlexaDevice("skill", "my-skill")
    skill = AlexaDevice("skill")
    async with faaslib.Invoker(faaslib.Registry()) as invoker:
        with pytest.raises(InvalidParameterValueException, match="confirmationStatus"):
            await skill.intent(invoker, "HelloIntent", confirmation_status="MAYBE")  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterValueException, match="reason"):
            await skill.end_session(invoker, "BORED")  # type: ignore[arg-type]


def test_the_event_factory_builds_request_envelopes() -> None:
    launch = alexa_skill_event()
    check_envelope(launch)
    assert launch["session"]["new"] is True
    intent = alexa_skill_event("IntentRequest", intent="OrderIntent", slots={"Size": "large"})
    check_envelope(intent)
    assert intent["session"]["new"] is False
    assert intent["session"]["attributes"] == {}
    assert intent["request"]["intent"]["slots"]["Size"]["value"] == "large"
    ended = alexa_skill_event(
        "SessionEndedRequest", reason="ERROR", error={"type": "INVALID_RESPONSE", "message": "x"}
    )
    check_envelope(ended)
    assert ended["request"]["error"]["type"] == "INVALID_RESPONSE"


async def test_the_sam_event_lets_its_skill_invoke_the_function_and_no_other() -> None:
    registry = faaslib.Registry()
    skill_id = new_skill_id()
    seen = skill_function(registry, counter, events=[AlexaSkill(skill_id)])
    skill_function(registry, counter, name="open", events=[AlexaSkill()])
    assert AlexaSkill(skill_id).invoked_as("skill", DEFAULT_SITE) == (
        "alexa-appkit.amazon.com",
        skill_id,
    )
    assert AlexaSkill().invoked_as("open", DEFAULT_SITE) is None
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        await AlexaDevice("skill", skill_id).launch(invoker)
        with pytest.raises(SkillResponseError, match="AccessDeniedException"):
            await AlexaDevice("skill", new_skill_id()).launch(invoker)
        with pytest.raises(SkillResponseError, match="AccessDeniedException"):
            await AlexaDevice("open").launch(invoker)  # SAM's "any skill" needs a statement
        registry.add_permission("open", "alexa", "alexa-appkit.amazon.com")
        await AlexaDevice("open").launch(invoker)
        await invoker.drain()
    assert len(seen) == 1
    with pytest.raises(InvalidParameterValueException, match="not an Alexa skill id"):
        AlexaSkill("skill-1")
