"""Amazon Lex V2: ``LexBot``, a bot whose code hook is a function, driven by ``RecognizeText``.

The bot invokes its alias's code hook function synchronously (invocation type
RequestResponse) as ``lexv2.amazonaws.com`` with Lex V2's code hook event, once per turn for
the dialog code hook (when the intent enables it) and once for fulfillment, and obeys the
answer's ``sessionState.dialogAction`` as Lex does; a malformed answer fails the turn with
:class:`DependencyFailedException` (``Invalid Lambda Response: ...``).

Understanding is deliberately simple, not NLU: an intent is recognized when the text equals
one of its sample utterances (case and punctuation aside), where ``{Slot}`` stands for one or
more words filling that slot; an elicited slot takes the whole text; a confirmation takes
yes or no. Text matching no utterance is ``AMAZON.FallbackIntent``.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._errors import (
    AccessDeniedException,
    FaaslibError,
    InvalidParameterValueException,
    ValidationException,
)
from .._ids import new_request_id
from .._site import FollowsSite

if TYPE_CHECKING:
    from .._clock import Clock
    from .._triggers import Invokes as Invoker

__all__ = [
    "FALLBACK_INTENT",
    "DependencyFailedException",
    "LexBot",
    "LexIntent",
    "LexSlot",
    "lex_v2_event",
]

PRINCIPAL = "lexv2.amazonaws.com"
FALLBACK_INTENT = "AMAZON.FallbackIntent"
TEST_ALIAS_ID = "TSTALIASID"
TEST_ALIAS_NAME = "TestBotAlias"
MAX_TEXT = 1024
DEFAULT_IDLE_SESSION_TTL = 300
InvocationSource = Literal["DialogCodeHook", "FulfillmentCodeHook"]
DIALOG_ACTIONS = ("Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot")
INTENT_STATES = (
    "Failed",
    "Fulfilled",
    "FulfillmentInProgress",
    "InProgress",
    "ReadyForFulfillment",
    "Waiting",
)
CONFIRMATION_STATES = ("Confirmed", "Denied", "None")
CONTENT_TYPES = ("CustomPayload", "ImageResponseCard", "PlainText", "SSML")
_SESSION_ID = re.compile(r"[0-9a-zA-Z._:-]{2,100}")
_NAME = re.compile(r"[0-9a-zA-Z][_.0-9a-zA-Z-]{0,99}")
_PLACEHOLDER = re.compile(r"\{([A-Za-z][_0-9A-Za-z]*)\}")
_YES = frozenset({"yes", "yeah", "yep", "sure", "ok", "okay", "correct", "right"})
_NO = frozenset({"no", "nope", "nah", "cancel", "wrong"})


class DependencyFailedException(FaaslibError):
    """The code hook function failed, could not be invoked, or answered something Lex cannot
    use: ``Invalid Lambda Response: Received error response from Lambda: Unhandled`` or
    ``Invalid Lambda Response: Received invalid response from Lambda: <why>``."""

    error_type = "DependencyFailedException"
    status_code = 424
    fault = "User"


def _invalid(why: str) -> DependencyFailedException:
    return DependencyFailedException(
        f"Invalid Lambda Response: Received invalid response from Lambda: {why}"
    )


@dataclass(frozen=True)
class LexSlot:
    """A slot of an intent.

    :param values: the values the slot accepts (case aside); ``None`` takes any text, as
        ``AMAZON.FreeFormInput`` does
    :param required: Lex elicits a required slot until it is filled
    :param prompt: what Lex says to elicit it (a required slot needs one in Lex; here it
        defaults to ``What is the <name>?``)
    """

    name: str
    values: Sequence[str] | None = None
    required: bool = True
    prompt: str | None = None

    def resolve(self, text: str) -> str | None:
        """The slot value ``text`` gives, or ``None`` when the slot does not take it."""
        text = text.strip()
        if not text:
            return None
        if self.values is None:
            return text
        for value in self.values:
            if value.casefold() == text.casefold():
                return value
        return None


@dataclass(frozen=True)
class LexIntent:
    """An intent of the bot: its sample utterances (``{Slot}`` placeholders allowed), slots in
    elicitation order, which code hooks it enables, and the prompts Lex speaks itself."""

    name: str
    utterances: Sequence[str] = ()
    slots: Sequence[LexSlot] = ()
    dialog_code_hook: bool = False
    fulfillment_code_hook: bool = True
    confirmation_prompt: str | None = None
    declination_response: str | None = None
    closing_response: str | None = None
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValidationException(
                "intentName",
                self.name,
                "Member must satisfy regular expression pattern: ^([0-9a-zA-Z][_-]?)+$",
            )
        names = [slot.name for slot in self.slots]
        if len(set(names)) != len(names):
            raise InvalidParameterValueException(f"Intent {self.name} declares a slot twice")
        patterns = tuple(self._compile(u, names) for u in self.utterances)
        object.__setattr__(self, "_patterns", patterns)

    def _compile(self, utterance: str, names: list[str]) -> re.Pattern[str]:
        normal = _normal(utterance)
        parts: list[str] = []
        seen: set[str] = set()
        last = 0
        for match in _PLACEHOLDER.finditer(normal):
            name = match.group(1)
            if name not in names or name in seen:
                raise InvalidParameterValueException(
                    f"Utterance {utterance!r} of intent {self.name} names no slot {name}"
                    if name not in names
                    else f"Utterance {utterance!r} of intent {self.name} names {name} twice"
                )
            seen.add(name)
            parts.append(re.escape(normal[last : match.start()]))
            parts.append(f"(?P<{name}>.+?)")
            last = match.end()
        parts.append(re.escape(normal[last:]))
        return re.compile("".join(parts), re.IGNORECASE)

    def slot(self, name: str) -> LexSlot | None:
        return next((slot for slot in self.slots if slot.name == name), None)

    def match(self, text: str) -> dict[str, tuple[str, str]] | None:
        """The slot values (resolved, as said) of the first utterance ``text`` equals, or
        ``None``."""
        normal = _normal(text)
        for pattern in self._patterns:
            found = pattern.fullmatch(normal)
            if found is None:
                continue
            values: dict[str, tuple[str, str]] = {}
            for name, raw in found.groupdict().items():
                slot = self.slot(name)
                value = None if slot is None else slot.resolve(raw)
                if value is None:
                    break
                values[name] = (value, raw)
            else:
                return values
        return None


def _normal(text: str) -> str:
    """Text as utterances are compared (case aside): no punctuation, single spaces."""
    kept = "".join(c if c.isalnum() or c in "{}_ " else " " for c in text)
    return " ".join(kept.split()).replace("{ ", "{").replace(" }", "}")


# -- events ------------------------------------------------------------------------------------


def slot_value(value: str, original: str | None = None) -> dict[str, Any]:
    """A filled slot as Lex V2 sends it."""
    return {
        "shape": "Scalar",
        "value": {
            "originalValue": value if original is None else original,
            "interpretedValue": value,
            "resolvedValues": [value],
        },
    }


def _intent_state(
    name: str,
    slots: Mapping[str, Any] | None = None,
    state: str = "InProgress",
    confirmation: str = "None",
) -> dict[str, Any]:
    return {
        "name": name,
        "slots": dict(slots or {}),
        "state": state,
        "confirmationState": confirmation,
    }


def lex_v2_event(
    text: str = "book a hotel",
    *,
    intent: str = "BookHotel",
    slots: Mapping[str, str | None] | None = None,
    invocation_source: InvocationSource = "FulfillmentCodeHook",
    intent_state: str | None = None,
    confirmation_state: str = "None",
    session_id: str = "123456789012345",
    session_attributes: Mapping[str, str] | None = None,
    request_attributes: Mapping[str, str] | None = None,
    bot_name: str = "OrderBot",
    bot_id: str = "ABCDEFGHIJ",
    locale: str = "en_US",
    alias_id: str = TEST_ALIAS_ID,
    alias_name: str = TEST_ALIAS_NAME,
    version: str = "DRAFT",
    proposed_next_state: Mapping[str, Any] | None = None,
    response_content_type: str = "text/plain; charset=utf-8",
) -> dict[str, Any]:
    """The event Lex V2 sends a code hook function: ``slots`` maps names to values (``None``
    for an empty slot); the intent's state defaults to ``ReadyForFulfillment`` for
    fulfillment and ``InProgress`` for the dialog code hook."""
    if intent_state is None:
        intent_state = (
            "ReadyForFulfillment" if invocation_source == "FulfillmentCodeHook" else "InProgress"
        )
    filled = {k: None if v is None else slot_value(v) for k, v in (slots or {}).items()}
    state = _intent_state(intent, filled, intent_state, confirmation_state)
    return code_hook_event(
        invocation_source,
        text=text,
        session_id=session_id,
        bot={
            "id": bot_id,
            "name": bot_name,
            "aliasId": alias_id,
            "aliasName": alias_name,
            "localeId": locale,
            "version": version,
        },
        intent=state,
        interpretations=[_interpretation(state, 1.0)],
        session_attributes=session_attributes or {},
        request_attributes=request_attributes,
        proposed_next_state=proposed_next_state,
        response_content_type=response_content_type,
    )


def code_hook_event(
    invocation_source: InvocationSource,
    *,
    text: str,
    session_id: str,
    bot: Mapping[str, str],
    intent: Mapping[str, Any],
    interpretations: Sequence[Mapping[str, Any]],
    session_attributes: Mapping[str, str],
    request_attributes: Mapping[str, str] | None,
    proposed_next_state: Mapping[str, Any] | None = None,
    active_contexts: Sequence[Mapping[str, Any]] = (),
    response_content_type: str = "text/plain; charset=utf-8",
) -> dict[str, Any]:
    """Lex V2's code hook event (message version 1.0, text input)."""
    event: dict[str, Any] = {
        "messageVersion": "1.0",
        "invocationSource": invocation_source,
        "inputMode": "Text",
        "responseContentType": response_content_type,
        "sessionId": session_id,
        "inputTranscript": text,
        "bot": dict(bot),
        "interpretations": [json.loads(json.dumps(i)) for i in interpretations],
    }
    if proposed_next_state is not None:
        event["proposedNextState"] = json.loads(json.dumps(proposed_next_state))
    event["requestAttributes"] = dict(request_attributes or {})
    event["sessionState"] = {
        "activeContexts": [dict(c) for c in active_contexts],
        "sessionAttributes": dict(session_attributes),
        "intent": json.loads(json.dumps(intent)),
        "originatingRequestId": new_request_id(),
    }
    return event


def _interpretation(intent: Mapping[str, Any], confidence: float | None) -> dict[str, Any]:
    found: dict[str, Any] = {"intent": dict(intent), "interpretationSource": "Lex"}
    if confidence is not None:
        found["nluConfidence"] = confidence
    return found


def _runtime(interpretation: Mapping[str, Any]) -> dict[str, Any]:
    """An interpretation as ``RecognizeText`` returns it (confidence as ``{"score": ...}``)."""
    found: dict[str, Any] = json.loads(json.dumps(interpretation))
    if "nluConfidence" in found:
        found["nluConfidence"] = {"score": found["nluConfidence"]}
    return found


# -- answers -----------------------------------------------------------------------------------


@dataclass
class _Answer:
    action: str
    slot_to_elicit: str | None
    intent: dict[str, Any] | None
    messages: list[dict[str, Any]]
    session_attributes: dict[str, str] | None
    request_attributes: dict[str, str] | None


def read_answer(payload: bytes, function_error: str | None) -> _Answer:
    """A code hook's answer, checked as Lex checks it.

    :raises DependencyFailedException: the function failed or the answer is malformed
    """
    if function_error is not None:
        raise DependencyFailedException(
            f"Invalid Lambda Response: Received error response from Lambda: {function_error}"
        )
    try:
        document = json.loads(payload) if payload else None
    except ValueError:
        raise _invalid("the response is not JSON") from None
    if not isinstance(document, dict):
        raise _invalid("the response is not a JSON object")
    state = document.get("sessionState")
    if not isinstance(state, dict):
        raise _invalid("sessionState is missing or not an object")
    action = state.get("dialogAction")
    if not isinstance(action, dict) or action.get("type") not in DIALOG_ACTIONS:
        raise _invalid(f"sessionState.dialogAction.type must be one of {', '.join(DIALOG_ACTIONS)}")
    kind = action["type"]
    slot = action.get("slotToElicit")
    if kind == "ElicitSlot" and not isinstance(slot, str):
        raise _invalid("slotToElicit must be given for dialogAction ElicitSlot")
    messages = _read_messages(document.get("messages"))
    if not messages and kind in ("ConfirmIntent", "ElicitIntent"):
        raise _invalid(f"messages must be given for dialogAction {kind}")
    intent = state.get("intent")
    if intent is None and kind in ("ConfirmIntent", "Delegate", "ElicitSlot"):
        raise _invalid(f"sessionState.intent must be given for dialogAction {kind}")
    return _Answer(
        kind,
        slot if kind == "ElicitSlot" else None,
        None if intent is None else _read_intent(intent),
        messages,
        _string_map(state.get("sessionAttributes"), "sessionState.sessionAttributes"),
        _string_map(document.get("requestAttributes"), "requestAttributes"),
    )


def _read_intent(intent: object) -> dict[str, Any]:
    if not isinstance(intent, dict) or not isinstance(intent.get("name"), str):
        raise _invalid("sessionState.intent.name must be a string")
    state = intent.get("state", "InProgress")
    if state not in INTENT_STATES:
        raise _invalid(f"sessionState.intent.state must be one of {', '.join(INTENT_STATES)}")
    confirmation = intent.get("confirmationState", "None")
    if confirmation not in CONFIRMATION_STATES:
        raise _invalid("sessionState.intent.confirmationState must be Confirmed, Denied or None")
    slots = intent.get("slots") or {}
    if not isinstance(slots, dict):
        raise _invalid("sessionState.intent.slots must be an object")
    for name, slot in slots.items():
        if slot is None:
            continue
        value = slot.get("value") if isinstance(slot, dict) else None
        if not isinstance(value, dict) or not isinstance(value.get("interpretedValue"), str):
            raise _invalid(f"slot {name} must be null or have value.interpretedValue")
    return _intent_state(intent["name"], slots, state, confirmation)


def _read_messages(messages: object) -> list[dict[str, Any]]:
    if messages is None:
        return []
    if not isinstance(messages, list):
        raise _invalid("messages must be a list")
    for message in messages:
        if not isinstance(message, dict) or message.get("contentType") not in CONTENT_TYPES:
            raise _invalid(f"a message's contentType must be one of {', '.join(CONTENT_TYPES)}")
        if message["contentType"] == "ImageResponseCard":
            card = message.get("imageResponseCard")
            if not isinstance(card, dict) or not isinstance(card.get("title"), str):
                raise _invalid("an ImageResponseCard message needs imageResponseCard.title")
        elif not isinstance(message.get("content"), str) or not message["content"]:
            raise _invalid(f"a {message['contentType']} message needs its content")
    return [dict(m) for m in messages]


def _string_map(value: object, where: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _invalid(f"{where} must map strings to strings")
    return dict(value)


# -- the bot -----------------------------------------------------------------------------------


@dataclass
class _Session:
    intent: dict[str, Any] | None = None
    pending: tuple[str, str | None] | None = None  # ("ElicitSlot", slot) / ("ConfirmIntent",)
    attributes: dict[str, str] = field(default_factory=dict)
    last_turn: float = 0.0
    retries: int = 0  # turns in a row that did not answer the pending prompt


@dataclass
class _Turn:
    session_id: str
    text: str
    request_attributes: dict[str, str] | None
    interpretations: list[dict[str, Any]]


def _plain(text: str | None) -> list[dict[str, Any]]:
    return [] if text is None else [{"contentType": "PlainText", "content": text}]


class LexBot(FollowsSite):
    """A Lex V2 bot's alias in one locale, whose code hook is ``function``.

    :meth:`recognize_text` runs one turn of a session as ``RecognizeText`` does, and returns
    its response (``messages``, ``sessionState``, ``interpretations``, ``sessionId``,
    ``requestAttributes``). Sessions (intent, slots, session attributes, what Lex waits for)
    are kept per session id, and forgotten after ``idle_session_ttl`` seconds without a turn
    (on the bot's clock). The bot keeps the region, account id and clock it was given and
    takes the rest from the first invoker it runs with.

    :param intents: the bot's intents; ``AMAZON.FallbackIntent`` is added, without code
        hooks, when not declared
    :param function: the code hook function (name or ARN, qualifier allowed); ``None``: no
        code hook, Lex closes each intent itself
    :param idle_session_ttl: the bot's ``idleSessionTTLInSeconds`` (60-86400; 300 by
        default)
    """

    def __init__(
        self,
        name: str,
        intents: Sequence[LexIntent],
        *,
        function: str | None = None,
        locale: str = "en_US",
        bot_id: str | None = None,
        alias_id: str = TEST_ALIAS_ID,
        alias_name: str = TEST_ALIAS_NAME,
        version: str = "DRAFT",
        idle_session_ttl: int = DEFAULT_IDLE_SESSION_TTL,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValidationException(
                "botName",
                name,
                "Member must satisfy regular expression pattern: ^([0-9a-zA-Z][_-]?)+$",
            )
        if isinstance(idle_session_ttl, bool) or not (
            isinstance(idle_session_ttl, int) and 60 <= idle_session_ttl <= 86400
        ):
            raise ValidationException(
                "idleSessionTTLInSeconds",
                idle_session_ttl,
                "Member must have value between 60 and 86400",
            )
        self._settle(region, account_id, clock)
        self.name = name
        self.function = function
        self.idle_session_ttl = idle_session_ttl
        self.locale = locale
        self.bot_id = bot_id or "".join(
            secrets.choice(string.ascii_uppercase + string.digits) for _ in range(10)
        )
        self.alias_id = alias_id
        self.alias_name = alias_name
        self.version = version
        self.intents: dict[str, LexIntent] = {}
        for intent in intents:
            if intent.name in self.intents:
                raise InvalidParameterValueException(f"Intent {intent.name} is declared twice")
            self.intents[intent.name] = intent
        self.intents.setdefault(
            FALLBACK_INTENT, LexIntent(FALLBACK_INTENT, fulfillment_code_hook=False)
        )
        self._sessions: dict[str, _Session] = {}

    @property
    def arn(self) -> str:
        """The alias's ARN: the source ARN of the bot's invocations."""
        return (
            f"arn:aws:lex:{self.region}:{self.account_id}:bot-alias/{self.bot_id}/{self.alias_id}"
        )

    def __repr__(self) -> str:
        return f"<LexBot {self.name} {self.bot_id}/{self.alias_id} {self.locale}>"

    def session(self, session_id: str) -> dict[str, Any]:
        """``GetSession``'s ``sessionState`` of ``session_id`` (empty for an unknown one)."""
        session = self._live(session_id) or _Session()
        state: dict[str, Any] = {"sessionAttributes": dict(session.attributes)}
        if session.intent is not None:
            state["intent"] = json.loads(json.dumps(session.intent))
        return state

    def delete_session(self, session_id: str) -> None:
        """``DeleteSession``: forget the session's intent and attributes."""
        self._sessions.pop(session_id, None)

    async def recognize_text(
        self,
        invoker: Invoker,
        session_id: str,
        text: str,
        *,
        session_attributes: Mapping[str, str] | None = None,
        request_attributes: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One turn: understand ``text``, run the code hooks, answer as ``RecognizeText``.

        :param session_attributes: replace the session's attributes before the turn
        :raises ValidationException: bad session id or text
        :raises DependencyFailedException: the code hook failed or answered badly (the
            session stays as it was before the turn)
        """
        _check_input(session_id, text)
        self.follow(invoker.site)
        session = self._live(session_id) or self._sessions.setdefault(session_id, _Session())
        before = _Session(
            json.loads(json.dumps(session.intent)),
            session.pending,
            dict(session.attributes),
            session.last_turn,
            session.retries,
        )
        session.last_turn = self.clock.time()
        if session_attributes is not None:
            session.attributes = dict(session_attributes)
        turn = _Turn(
            session_id,
            text,
            None if request_attributes is None else dict(request_attributes),
            [],
        )
        try:
            return await self._turn(invoker, session, turn)
        except BaseException:
            self._sessions[session_id] = before
            raise

    def _live(self, session_id: str) -> _Session | None:
        """The session, unless it is unknown or has idled past the bot's TTL (then forgotten)."""
        session = self._sessions.get(session_id)
        if session is not None and self.clock.time() - session.last_turn > self.idle_session_ttl:
            del self._sessions[session_id]
            return None
        return session

    # -- understanding -------------------------------------------------------------------------

    def _understand(self, session: _Session, turn: _Turn) -> dict[str, Any]:
        """The session's intent after ``turn``'s text, with the turn's interpretations."""
        intent = session.intent
        if intent is not None and session.pending is not None:
            kind, slot_name = session.pending
            definition = self.intents[intent["name"]]
            if kind == "ElicitSlot" and slot_name is not None:
                slot = definition.slot(slot_name)
                value = None if slot is None else slot.resolve(turn.text)
                answered = value is not None
                if value is not None:
                    intent["slots"][slot_name] = slot_value(value, turn.text.strip())
            else:
                words = set(_normal(turn.text).casefold().split())
                answered = bool(words & (_YES | _NO))
                if words & _YES:
                    intent["confirmationState"] = "Confirmed"
                elif words & _NO:
                    intent["confirmationState"] = "Denied"
            session.retries = 0 if answered else session.retries + 1
            turn.interpretations = [_interpretation(intent, 1.0)]
            return intent
        session.retries = 0
        for definition in self.intents.values():
            values = definition.match(turn.text)
            if values is not None:
                slots: dict[str, Any] = {s.name: None for s in definition.slots}
                slots.update({k: slot_value(*v) for k, v in values.items()})
                found = _intent_state(definition.name, slots)
                fallback = _intent_state(FALLBACK_INTENT)
                turn.interpretations = [
                    _interpretation(found, 1.0),
                    _interpretation(fallback, None),
                ]
                return found
        fallback = _intent_state(FALLBACK_INTENT)
        turn.interpretations = [_interpretation(fallback, None)]
        return fallback

    def _next_step(self, intent: Mapping[str, Any]) -> tuple[str, str | None]:
        """What Lex does next for ``intent``: elicit a slot, confirm, decline or fulfill."""
        definition = self.intents.get(intent["name"])
        if definition is None:
            raise _invalid(f"intent {intent['name']} is not an intent of the bot")
        for slot in definition.slots:
            if slot.required and intent["slots"].get(slot.name) is None:
                return "ElicitSlot", slot.name
        if definition.confirmation_prompt is not None:
            if intent["confirmationState"] == "None":
                return "ConfirmIntent", None
            if intent["confirmationState"] == "Denied":
                return "Decline", None
        return "Fulfill", None

    # -- the turn ------------------------------------------------------------------------------

    async def _turn(self, invoker: Invoker, session: _Session, turn: _Turn) -> dict[str, Any]:
        intent = self._understand(session, turn)
        session.intent, session.pending = intent, None
        definition = self.intents[intent["name"]]
        if not (definition.dialog_code_hook and self.function is not None):
            return await self._lex_step(invoker, session, turn, [])
        step, slot = self._next_step(intent)
        proposed = None
        if step in ("ElicitSlot", "ConfirmIntent"):
            action: dict[str, Any] = {"type": step}
            if slot is not None:
                action["slotToElicit"] = slot
            attempt = f"Retry{min(session.retries, 5)}" if session.retries else "Initial"
            proposed = {"dialogAction": action, "intent": intent, "prompt": {"attempt": attempt}}
        answer = await self._call(invoker, "DialogCodeHook", session, turn, proposed)
        if answer.action == "Delegate":
            return await self._lex_step(invoker, session, turn, answer.messages)
        return self._obey(session, turn, answer)

    async def _lex_step(
        self, invoker: Invoker, session: _Session, turn: _Turn, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Lex's own next step for the session's intent (after a Delegate, or no hook)."""
        assert session.intent is not None
        intent = session.intent
        definition = self.intents[intent["name"]]
        step, slot = self._next_step(intent)
        if step == "ElicitSlot":
            assert slot is not None
            text = self._prompt(session, slot)
            session.pending = ("ElicitSlot", slot)
            return self._respond(
                session,
                turn,
                {"type": "ElicitSlot", "slotToElicit": slot},
                messages or _plain(text),
            )
        if step == "ConfirmIntent":
            session.pending = ("ConfirmIntent", None)
            return self._respond(
                session,
                turn,
                {"type": "ConfirmIntent"},
                messages or _plain(definition.confirmation_prompt),
            )
        if step == "Decline":
            intent["state"] = "Failed"
            return self._close(session, turn, messages or _plain(definition.declination_response))
        if definition.fulfillment_code_hook and self.function is not None:
            intent["state"] = "ReadyForFulfillment"
            answer = await self._call(invoker, "FulfillmentCodeHook", session, turn, None)
            if answer.action != "Delegate":
                return self._obey(session, turn, answer)
            messages = answer.messages
            if intent["state"] in ("ReadyForFulfillment", "InProgress"):
                intent["state"] = "Fulfilled"
        else:
            intent["state"] = "Fulfilled"
        closing = definition.closing_response if intent["state"] == "Fulfilled" else None
        return self._close(session, turn, messages or _plain(closing))

    async def _call(
        self,
        invoker: Invoker,
        source: InvocationSource,
        session: _Session,
        turn: _Turn,
        proposed: Mapping[str, Any] | None,
    ) -> _Answer:
        """Invoke the code hook and take its answer's intent and attributes."""
        assert session.intent is not None
        assert self.function is not None
        event = code_hook_event(
            source,
            text=turn.text,
            session_id=turn.session_id,
            bot=self._bot(),
            intent=session.intent,
            interpretations=turn.interpretations,
            session_attributes=session.attributes,
            request_attributes=turn.request_attributes,
            proposed_next_state=proposed,
        )
        try:
            result = await invoker.invoke(
                self.function, event, "RequestResponse", principal=PRINCIPAL, source_arn=self.arn
            )
        except AccessDeniedException as exc:
            raise DependencyFailedException(
                f"Invalid Bot Configuration: Lex is not authorized to access {self.function}"
            ) from exc
        except FaaslibError as exc:
            raise DependencyFailedException(
                f"Invalid Bot Configuration: Lambda function {self.function} could not be "
                f"invoked: {exc.error_type}"
            ) from exc
        answer = read_answer(result.payload, result.function_error)
        if answer.intent is not None:
            if answer.intent["name"] not in self.intents:
                raise _invalid(f"intent {answer.intent['name']} is not an intent of the bot")
            session.intent = answer.intent
        if answer.slot_to_elicit is not None:
            assert session.intent is not None
            if self.intents[session.intent["name"]].slot(answer.slot_to_elicit) is None:
                raise _invalid(
                    f"slot {answer.slot_to_elicit} is not a slot of intent {session.intent['name']}"
                )
        if answer.session_attributes is not None:
            session.attributes = answer.session_attributes
        if answer.request_attributes is not None:
            turn.request_attributes = answer.request_attributes
        return answer

    def _obey(self, session: _Session, turn: _Turn, answer: _Answer) -> dict[str, Any]:
        """The turn's response for a code hook's Close, ConfirmIntent, ElicitIntent or
        ElicitSlot."""
        if answer.action == "Close":
            return self._close(session, turn, answer.messages)
        if answer.action == "ElicitIntent":
            session.intent = None
            return self._respond(session, turn, {"type": "ElicitIntent"}, answer.messages)
        action: dict[str, Any] = {"type": answer.action}
        messages = answer.messages
        if answer.slot_to_elicit is not None:
            action["slotToElicit"] = answer.slot_to_elicit
            messages = messages or _plain(self._prompt(session, answer.slot_to_elicit))
        session.pending = (answer.action, answer.slot_to_elicit)
        return self._respond(session, turn, action, messages)

    def _prompt(self, session: _Session, slot_name: str) -> str:
        """The bot's prompt for a slot of the session's intent (Lex's default otherwise)."""
        assert session.intent is not None
        slot = self.intents[session.intent["name"]].slot(slot_name)
        return (slot.prompt if slot else None) or f"What is the {slot_name}?"

    def _close(
        self, session: _Session, turn: _Turn, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        response = self._respond(session, turn, {"type": "Close"}, messages)
        session.intent, session.pending = None, None
        return response

    def _respond(
        self,
        session: _Session,
        turn: _Turn,
        action: dict[str, Any],
        messages: list[dict[str, Any]],
    ) -> dict[str, Any]:
        state: dict[str, Any] = {
            "dialogAction": action,
            "sessionAttributes": dict(session.attributes),
            "originatingRequestId": new_request_id(),
        }
        if session.intent is not None:
            state["intent"] = json.loads(json.dumps(session.intent))
        response: dict[str, Any] = {}
        if messages:
            response["messages"] = messages
        response["sessionState"] = state
        response["interpretations"] = [_runtime(i) for i in turn.interpretations]
        if turn.request_attributes:
            response["requestAttributes"] = turn.request_attributes
        response["sessionId"] = turn.session_id
        return response

    def _bot(self) -> dict[str, str]:
        return {
            "id": self.bot_id,
            "name": self.name,
            "aliasId": self.alias_id,
            "aliasName": self.alias_name,
            "localeId": self.locale,
            "version": self.version,
        }


def _check_input(session_id: object, text: object) -> None:
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise ValidationException(
            "sessionId",
            session_id,
            "Member must satisfy regular expression pattern: [0-9a-zA-Z._:-]+ and have "
            "length between 2 and 100",
        )
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
        raise ValidationException("text", text, f"Member must have length between 1 and {MAX_TEXT}")
