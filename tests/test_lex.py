"""Amazon Lex V2: a bot's code hooks through a real Invoker, turn by turn; the events, the
RecognizeText responses and the session states checked against botocore's Lex V2 runtime
model (Powertools has no Lex V2 model), the answers obeyed, and malformed answers refused."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

import faaslib
from faaslib import ValidationException
from faaslib._services.lex import (
    FALLBACK_INTENT,
    DependencyFailedException,
    LexBot,
    LexIntent,
    LexSlot,
    lex_v2_event,
)

T0 = 1_700_000_000.0
Events = list[dict[str, Any]]
_MODEL = botocore.session.get_session().get_service_model("lexv2-runtime")


def conforms(value: Any, shape_name: str) -> None:
    """``value`` fits the Lex V2 runtime API's shape ``shape_name``."""
    shape: Shape = (
        _MODEL.operation_model("RecognizeText").output_shape
        if shape_name == "RecognizeTextResponse"
        else _MODEL.shape_for(shape_name)
    )
    report = ParamValidator().validate(_without_nulls(value), shape)
    assert not report.has_errors(), report.generate_report()


def _without_nulls(value: Any) -> Any:
    """``value`` less its JSON nulls (an empty slot is ``null`` on the wire, which botocore's
    validator, written for requests, does not take)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def check_event(event: dict[str, Any]) -> None:
    """A code hook event as Lex V2 sends it."""
    assert event["messageVersion"] == "1.0"
    assert event["invocationSource"] in ("DialogCodeHook", "FulfillmentCodeHook")
    assert event["inputMode"] == "Text"
    assert set(event["bot"]) == {"id", "name", "aliasId", "aliasName", "localeId", "version"}
    state = event["sessionState"]
    assert set(state) == {"activeContexts", "sessionAttributes", "intent", "originatingRequestId"}
    conforms(state, "SessionState")
    for interpretation in event["interpretations"]:
        conforms(interpretation["intent"], "Intent")
        assert isinstance(interpretation.get("nluConfidence", 0.0), float)
    if "proposedNextState" in event:
        conforms(event["proposedNextState"]["dialogAction"], "DialogAction")
        conforms(event["proposedNextState"]["intent"], "Intent")
    json.dumps(event)


HOTEL = LexIntent(
    "BookHotel",
    utterances=["book a hotel", "book a hotel in {City}", "I need a {RoomType} room"],
    slots=[
        LexSlot("City", prompt="Which city?"),
        LexSlot("RoomType", values=["single", "double", "suite"], prompt="Which room type?"),
    ],
    dialog_code_hook=True,
    confirmation_prompt="Shall I book it?",
    declination_response="Okay, I won't book it.",
)
GREET = LexIntent(
    "Greet", utterances=["hello", "hi there"], fulfillment_code_hook=False, closing_response="Hi!"
)


def hook(registry: faaslib.Registry, answer: Any, name: str = "hook") -> Events:
    """Register a code hook that records each event and answers ``answer(event)``."""
    seen: Events = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)
        return answer(event)

    registry.function(name=name)(handler)
    return seen


def delegate(event: dict[str, Any]) -> dict[str, Any]:
    state = event["sessionState"]
    if event["invocationSource"] == "FulfillmentCodeHook":
        slots = state["intent"]["slots"]
        city = slots["City"]["value"]["interpretedValue"]
        room = slots["RoomType"]["value"]["interpretedValue"]
        return {
            "sessionState": {
                "sessionAttributes": {**state["sessionAttributes"], "booked": city},
                "dialogAction": {"type": "Close"},
                "intent": {**state["intent"], "state": "Fulfilled"},
            },
            "messages": [{"contentType": "PlainText", "content": f"Booked a {room} in {city}."}],
        }
    turns = int(state["sessionAttributes"].get("turns", "0")) + 1
    return {
        "sessionState": {
            "sessionAttributes": {**state["sessionAttributes"], "turns": str(turns)},
            "dialogAction": {"type": "Delegate"},
            "intent": state["intent"],
        }
    }


async def test_a_multi_turn_booking_delegates_confirms_and_fulfills() -> None:
    registry = faaslib.Registry()
    seen = hook(registry, delegate)
    bot = LexBot("HotelBot", [HOTEL, GREET], function="hook", locale="en_GB", bot_id="BOTID12345")
    arn = "arn:aws:lex:eu-west-1:111122223333:bot-alias/BOTID12345/TSTALIASID"
    async with faaslib.Invoker(
        registry,
        clock=faaslib.VirtualClock(T0),
        region="eu-west-1",
        account_id="111122223333",
        check_permissions=True,
    ) as invoker:
        registry.add_permission("hook", "lex", "lexv2.amazonaws.com", source_arn=arn)
        first = await bot.recognize_text(
            invoker, "session-1", "Book a hotel in Paris!", request_attributes={"channel": "web"}
        )
        second = await bot.recognize_text(invoker, "session-1", "Suite")
        third = await bot.recognize_text(invoker, "session-1", "yes please")
    assert bot.arn == arn
    for response in (first, second, third):
        conforms(response, "RecognizeTextResponse")
    assert first["messages"] == [{"contentType": "PlainText", "content": "Which room type?"}]
    assert first["sessionState"]["dialogAction"] == {
        "type": "ElicitSlot",
        "slotToElicit": "RoomType",
    }
    assert first["sessionState"]["sessionAttributes"] == {"turns": "1"}
    assert first["requestAttributes"] == {"channel": "web"}
    assert first["sessionId"] == "session-1"
    assert first["interpretations"][0]["intent"]["name"] == "BookHotel"
    assert first["interpretations"][0]["nluConfidence"] == {"score": 1.0}
    assert first["interpretations"][1]["intent"]["name"] == FALLBACK_INTENT
    assert second["sessionState"]["dialogAction"] == {"type": "ConfirmIntent"}
    assert second["messages"][0]["content"] == "Shall I book it?"
    assert third["messages"] == [
        {"contentType": "PlainText", "content": "Booked a suite in Paris."}
    ]
    assert third["sessionState"]["dialogAction"] == {"type": "Close"}
    assert third["sessionState"]["intent"]["state"] == "Fulfilled"
    assert third["sessionState"]["intent"]["confirmationState"] == "Confirmed"
    assert third["sessionState"]["sessionAttributes"] == {"turns": "3", "booked": "Paris"}
    assert [e["invocationSource"] for e in seen] == [
        "DialogCodeHook",
        "DialogCodeHook",
        "DialogCodeHook",
        "FulfillmentCodeHook",
    ]
    for event in seen:
        check_event(event)
    opening = seen[0]
    assert opening["inputTranscript"] == "Book a hotel in Paris!"
    assert opening["sessionId"] == "session-1"
    assert opening["bot"] == {
        "id": "BOTID12345",
        "name": "HotelBot",
        "aliasId": "TSTALIASID",
        "aliasName": "TestBotAlias",
        "localeId": "en_GB",
        "version": "DRAFT",
    }
    assert opening["requestAttributes"] == {"channel": "web"}
    assert opening["sessionState"]["intent"] == {
        "name": "BookHotel",
        "slots": {
            "City": {
                "shape": "Scalar",
                "value": {
                    "originalValue": "Paris",
                    "interpretedValue": "Paris",
                    "resolvedValues": ["Paris"],
                },
            },
            "RoomType": None,
        },
        "state": "InProgress",
        "confirmationState": "None",
    }
    assert opening["proposedNextState"]["dialogAction"] == {
        "type": "ElicitSlot",
        "slotToElicit": "RoomType",
    }
    assert seen[1]["sessionState"]["intent"]["slots"]["RoomType"]["value"] == {
        "originalValue": "Suite",
        "interpretedValue": "suite",
        "resolvedValues": ["suite"],
    }
    assert seen[1]["proposedNextState"]["dialogAction"] == {"type": "ConfirmIntent"}
    assert seen[2]["sessionState"]["intent"]["confirmationState"] == "Confirmed"
    assert "proposedNextState" not in seen[2]
    assert seen[3]["sessionState"]["intent"]["state"] == "ReadyForFulfillment"
    assert seen[3]["sessionState"]["sessionAttributes"] == {"turns": "3"}
    assert bot.session("session-1") == {"sessionAttributes": {"turns": "3", "booked": "Paris"}}


async def test_the_hook_elicits_slots_and_a_denied_intent_is_declined() -> None:
    registry = faaslib.Registry()

    def picky(event: dict[str, Any]) -> dict[str, Any]:
        intent = event["sessionState"]["intent"]
        city = intent["slots"].get("City")
        if city is not None and city["value"]["interpretedValue"].lower() == "atlantis":
            intent["slots"]["City"] = None
            return {
                "sessionState": {
                    "dialogAction": {"type": "ElicitSlot", "slotToElicit": "City"},
                    "intent": intent,
                },
                "messages": [{"contentType": "SSML", "content": "<speak>Not there.</speak>"}],
            }
        return delegate(event)

    seen = hook(registry, picky)
    bot = LexBot("HotelBot", [HOTEL], function="hook")
    async with faaslib.Invoker(registry) as invoker:
        refused = await bot.recognize_text(invoker, "s2", "book a hotel in Atlantis")
        assert refused["sessionState"]["dialogAction"] == {
            "type": "ElicitSlot",
            "slotToElicit": "City",
        }
        assert refused["messages"] == [
            {"contentType": "SSML", "content": "<speak>Not there.</speak>"}
        ]
        assert refused["sessionState"]["intent"]["slots"]["City"] is None
        rome = await bot.recognize_text(invoker, "s2", "Rome")
        assert rome["sessionState"]["dialogAction"]["slotToElicit"] == "RoomType"
        wrong = await bot.recognize_text(invoker, "s2", "a castle")  # not a RoomType value
        assert wrong["sessionState"]["dialogAction"]["slotToElicit"] == "RoomType"
        await bot.recognize_text(invoker, "s2", "double")
        declined = await bot.recognize_text(invoker, "s2", "no")
    conforms(declined, "RecognizeTextResponse")
    assert declined["sessionState"]["dialogAction"] == {"type": "Close"}
    assert declined["sessionState"]["intent"]["state"] == "Failed"
    assert declined["sessionState"]["intent"]["confirmationState"] == "Denied"
    assert declined["messages"][0]["content"] == "Okay, I won't book it."
    assert all(e["invocationSource"] == "DialogCodeHook" for e in seen)
    assert seen[1]["proposedNextState"]["prompt"] == {"attempt": "Initial"}
    assert seen[2]["proposedNextState"]["prompt"] == {"attempt": "Retry1"}  # "a castle"
    assert seen[3]["proposedNextState"]["prompt"] == {"attempt": "Initial"}  # confirmation
    assert seen[1]["sessionState"]["intent"]["slots"]["City"]["value"]["interpretedValue"] == (
        "Rome"
    )


async def test_a_hook_eliciting_a_slot_without_messages_gets_the_slots_prompt() -> None:
    registry = faaslib.Registry()

    def elicit_city(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "sessionState": {
                "dialogAction": {"type": "ElicitSlot", "slotToElicit": "City"},
                "intent": event["sessionState"]["intent"],
                "sessionAttributes": {"asked": "city"},
            },
            "requestAttributes": {"x-trace": "1"},
        }

    hook(registry, elicit_city)
    bot = LexBot("HotelBot", [HOTEL], function="hook")
    async with faaslib.Invoker(registry) as invoker:
        answer = await bot.recognize_text(invoker, "s9", "I need a double room")
    conforms(answer, "RecognizeTextResponse")
    assert answer["messages"] == [{"contentType": "PlainText", "content": "Which city?"}]
    assert answer["requestAttributes"] == {"x-trace": "1"}
    assert answer["sessionState"]["sessionAttributes"] == {"asked": "city"}
    assert answer["sessionState"]["intent"]["slots"]["RoomType"]["value"]["interpretedValue"] == (
        "double"
    )


async def test_without_hooks_lex_closes_and_unknown_text_is_the_fallback_intent() -> None:
    registry = faaslib.Registry()
    seen = hook(registry, delegate)
    bot = LexBot("HotelBot", [GREET], function="hook")
    async with faaslib.Invoker(registry) as invoker:
        hello = await bot.recognize_text(invoker, "s3", "Hi there.")
        lost = await bot.recognize_text(invoker, "s3", "what is the weather")
    assert seen == []  # Greet and the default fallback enable no code hook
    assert hello["messages"] == [{"contentType": "PlainText", "content": "Hi!"}]
    assert hello["sessionState"]["intent"]["state"] == "Fulfilled"
    assert [i["intent"]["name"] for i in lost["interpretations"]] == [FALLBACK_INTENT]
    assert lost["interpretations"][0]["interpretationSource"] == "Lex"
    assert lost["sessionState"]["intent"]["name"] == FALLBACK_INTENT
    assert lost["sessionState"]["intent"]["state"] == "Fulfilled"
    assert "nluConfidence" not in lost["interpretations"][0]


async def test_the_fulfillment_hook_answers_the_fallback_and_elicits_an_intent() -> None:
    registry = faaslib.Registry()

    def elicit(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "sessionState": {"dialogAction": {"type": "ElicitIntent"}},
            "messages": [{"contentType": "PlainText", "content": "Try 'book a hotel'."}],
        }

    seen = hook(registry, elicit)
    bot = LexBot("HotelBot", [HOTEL, LexIntent(FALLBACK_INTENT)], function="hook")
    async with faaslib.Invoker(registry) as invoker:
        answer = await bot.recognize_text(invoker, "s4", "gibberish")
    assert seen[0]["invocationSource"] == "FulfillmentCodeHook"
    assert seen[0]["sessionState"]["intent"]["name"] == FALLBACK_INTENT
    check_event(seen[0])
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitIntent"}
    assert "intent" not in answer["sessionState"]
    conforms(answer, "RecognizeTextResponse")


def _answer_with(change: dict[str, Any]) -> Any:
    def answer(event: dict[str, Any]) -> Any:
        base: dict[str, Any] = {
            "sessionState": {
                "dialogAction": {"type": "Delegate"},
                "intent": dict(event["sessionState"]["intent"]),
            }
        }
        for key, value in change.items():
            if key == "dialogAction":
                base["sessionState"]["dialogAction"] = value
            elif key == "intent":
                base["sessionState"]["intent"].update(value)
            else:
                base[key] = value
        return base

    return answer


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda e: "not an object", "the response is not a JSON object"),
        (lambda e: {"messages": []}, "sessionState is missing"),
        (_answer_with({"dialogAction": {"type": "Finish"}}), "dialogAction.type must be one of"),
        (_answer_with({"dialogAction": {"type": "ElicitSlot"}}), "slotToElicit must be given"),
        (
            _answer_with({"dialogAction": {"type": "ConfirmIntent"}}),
            "messages must be given for dialogAction ConfirmIntent",
        ),
        (
            _answer_with({"dialogAction": {"type": "ElicitSlot", "slotToElicit": "Pool"}}),
            "slot Pool is not a slot of intent BookHotel",
        ),
        (_answer_with({"intent": {"state": "Done"}}), "intent.state must be one of"),
        (_answer_with({"intent": {"name": "Elsewhere"}}), "intent Elsewhere is not an intent"),
        (
            _answer_with({"intent": {"slots": {"City": {"value": "Paris"}}}}),
            "slot City must be null or have value.interpretedValue",
        ),
        (_answer_with({"messages": [{"contentType": "Text", "content": "x"}]}), "contentType"),
        (_answer_with({"messages": [{"contentType": "PlainText"}]}), "needs its content"),
        (
            _answer_with({"messages": [{"contentType": "ImageResponseCard"}]}),
            "needs imageResponseCard.title",
        ),
        (_answer_with({"requestAttributes": {"n": 1}}), "requestAttributes must map strings"),
    ],
)
async def test_malformed_answers_fail_the_turn_as_lex_does(answer: Any, why: str) -> None:
    registry = faaslib.Registry()
    hook(registry, answer)
    bot = LexBot("HotelBot", [HOTEL], function="hook")
    async with faaslib.Invoker(registry) as invoker:
        await bot.recognize_text(invoker, "s5", "hello?", session_attributes={"kept": "yes"})
        with pytest.raises(DependencyFailedException) as caught:
            await bot.recognize_text(invoker, "s5", "book a hotel in Oslo")
    assert str(caught.value).startswith(
        "Invalid Lambda Response: Received invalid response from Lambda: "
    )
    assert why in str(caught.value)
    assert caught.value.error_type == "DependencyFailedException"
    assert bot.session("s5") == {"sessionAttributes": {"kept": "yes"}}  # the turn left no trace


async def test_a_failing_or_missing_hook_is_a_dependency_failure() -> None:
    registry = faaslib.Registry()

    def crash(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    hook(registry, crash)
    bot = LexBot("HotelBot", [HOTEL], function="hook")
    nowhere = LexBot("HotelBot", [HOTEL], function="missing")
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(
            DependencyFailedException, match=r"error response from Lambda: Unhandled"
        ):
            await bot.recognize_text(invoker, "s6", "book a hotel")
        with pytest.raises(DependencyFailedException, match="ResourceNotFoundException"):
            await nowhere.recognize_text(invoker, "s6", "book a hotel")


async def test_lex_needs_a_permission_when_policies_are_checked() -> None:
    registry = faaslib.Registry()
    hook(registry, delegate)
    bot = LexBot("HotelBot", [HOTEL], function="hook")
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        with pytest.raises(DependencyFailedException, match="Lex is not authorized"):
            await bot.recognize_text(invoker, "s7", "book a hotel")


async def test_bad_input_is_refused_before_anything_runs() -> None:
    bot = LexBot("HotelBot", [HOTEL])
    async with faaslib.Invoker(faaslib.Registry()) as invoker:
        with pytest.raises(ValidationException, match="sessionId"):
            await bot.recognize_text(invoker, "x", "hello")
        with pytest.raises(ValidationException, match="between 1 and 1024"):
            await bot.recognize_text(invoker, "s8", "")
    with pytest.raises(ValidationException, match="botName"):
        LexBot("bad name", [])
    with pytest.raises(faaslib.InvalidParameterValueException, match="names no slot"):
        LexIntent("Order", utterances=["order {Thing}"])


def test_the_event_factory_builds_lex_v2_events() -> None:
    event = lex_v2_event(
        "book a double in Oslo",
        slots={"City": "Oslo", "RoomType": None},
        session_attributes={"a": "b"},
    )
    check_event(event)
    assert event["invocationSource"] == "FulfillmentCodeHook"
    assert event["sessionState"]["intent"]["state"] == "ReadyForFulfillment"
    assert event["sessionState"]["intent"]["slots"]["RoomType"] is None
    dialog = lex_v2_event(invocation_source="DialogCodeHook", intent="Greet")
    check_event(dialog)
    assert dialog["sessionState"]["intent"]["state"] == "InProgress"


async def test_an_idle_session_is_forgotten_after_the_bots_ttl() -> None:
    clock = faaslib.VirtualClock(T0)
    registry = faaslib.Registry()
    hook(registry, delegate)
    bot = LexBot("HotelBot", [HOTEL], function="hook", idle_session_ttl=60)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await bot.recognize_text(invoker, "s10", "book a hotel in Oslo")
        clock.advance(60)
        kept = await bot.recognize_text(invoker, "s10", "single")  # RoomType, as elicited
        assert kept["sessionState"]["dialogAction"] == {"type": "ConfirmIntent"}
        clock.advance(61)
        assert bot.session("s10") == {"sessionAttributes": {}}
        again = await bot.recognize_text(invoker, "s10", "yes")  # the intent is gone
    assert again["sessionState"]["intent"]["name"] == FALLBACK_INTENT
    assert again["sessionState"]["sessionAttributes"] == {}
    with pytest.raises(ValidationException, match="idleSessionTTLInSeconds"):
        LexBot("HotelBot", [HOTEL], idle_session_ttl=30)
