"""Amazon SES email receiving: ``MailServer``, an in-memory receiving endpoint with an active
receipt rule set, and the ``SES`` trigger, a receipt rule's Lambda action.

``await server.receive(mail_from, recipients, message)`` takes a message as SES's inbound SMTP
endpoint does: each enabled rule whose recipients match one of the envelope's, in the rule
set's order, runs its Lambda actions in order. SES invokes each function as
``ses.amazonaws.com`` with the rule's ARN, sending the mail's metadata (never its body); an
``Event`` action is queued and not waited for; a ``RequestResponse`` action is waited for (30
seconds at most) and its answer's ``disposition`` obeyed: ``STOP_RULE`` skips the rest of the
rule's actions, ``STOP_RULE_SET`` every later rule, and ``CONTINUE``, any other value, no
answer, a function error or a late answer go on.

How the actions reach their functions: an ``SES`` trigger's runner, made when an invoker runs
a function listing it, connects the invoker's ``invoke`` to its rule until the runner stops.
A rule's actions are its connections, in the order the invoker starts them: the functions'
registration order, then each function's ``events=[...]`` order.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.header
import email.message
import email.parser
import email.policy
import email.utils
import json
import re
import secrets
import string
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import anyio

from .._errors import FaaslibError, InvalidParameterValueException, InvokerClosed
from .._site import FollowsSite
from .._triggers import Trigger, TriggerHost

if TYPE_CHECKING:
    from anyio import CancelScope

    from .._clock import Clock
    from .._site import Site

__all__ = [
    "SES",
    "ActionRun",
    "AlreadyExistsException",
    "MailServer",
    "ReceiptRule",
    "ReceivedMail",
    "RuleDoesNotExistException",
    "SESRunner",
    "receipt_rule_arn",
    "ses_event",
]

#: How long SES waits for a ``RequestResponse`` action's answer (seconds).
ACTION_TIMEOUT = 30.0
DISPOSITIONS = ("CONTINUE", "STOP_RULE", "STOP_RULE_SET")
VERDICTS = ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED")
DMARC_POLICIES = ("none", "quarantine", "reject")
INVOCATION_TYPES = ("Event", "RequestResponse")
#: The event's ``headers`` hold the message's first 10 KB of header fields.
MAX_HEADER_BYTES = 10 * 1024
#: A rule applies to at most this many recipient entries (SES's limit).
MAX_RULE_RECIPIENTS = 100
_VERDICT_KEYS = ("spam", "virus", "spf", "dkim", "dmarc")
_RULE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?")
_DOMAIN = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ID_CHARACTERS = string.ascii_lowercase + string.digits
#: Common headers that are lists of addresses, by the name ``commonHeaders`` gives them.
_ADDRESS_HEADERS = (("from", "From"), ("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"))
_LIST_HEADERS = (("sender", "Sender"), ("replyTo", "Reply-To"))
_TEXT_HEADERS = (("date", "Date"), ("messageId", "Message-ID"), ("subject", "Subject"))

Disposition = Literal["CONTINUE", "STOP_RULE", "STOP_RULE_SET"]


# -- errors ------------------------------------------------------------------------------------


class AlreadyExistsException(FaaslibError):
    """A receipt rule of that name is already in the rule set (SES's ``AlreadyExists``)."""

    error_type = "AlreadyExists"
    status_code = 400
    fault = "User"


class RuleDoesNotExistException(FaaslibError, LookupError):
    """No receipt rule of that name is in the rule set (SES's ``RuleDoesNotExist``)."""

    error_type = "RuleDoesNotExist"
    status_code = 400
    fault = "User"


# -- what receive returns ----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionRun:
    """One Lambda action SES took on a message.

    :ivar rule: the rule's name
    :ivar function_name: the function invoked
    :ivar invocation_type: ``Event`` or ``RequestResponse``
    :ivar event: the event sent
    :ivar disposition: what SES did next after a ``RequestResponse`` action (``CONTINUE``,
        ``STOP_RULE`` or ``STOP_RULE_SET``); ``None`` for ``Event``
    :ivar answer: a ``RequestResponse`` action's decoded answer (``None`` if none)
    :ivar error: why the action failed: the function's error (``Unhandled``), the refusal's
        error type (``TooManyRequestsException``, ``AccessDeniedException``, ...), or
        ``Timeout`` (no answer within the action timeout); ``None`` when it did not
    """

    rule: str
    function_name: str
    invocation_type: str
    event: dict[str, Any]
    disposition: Disposition | None = None
    answer: Any = None
    error: str | None = None


@dataclass(frozen=True)
class ReceivedMail:
    """What :meth:`MailServer.receive` did with a message.

    :ivar message_id: SES's id of the message (the event's ``mail.messageId``)
    :ivar rules: the rules that applied to it and ran, in order
    :ivar actions: the Lambda actions taken, in order
    :ivar stopped_by: ``(rule, disposition)`` of the answer that stopped a rule or the rule
        set early, else ``None``
    """

    message_id: str
    rules: tuple[str, ...]
    actions: tuple[ActionRun, ...]
    stopped_by: tuple[str, Disposition] | None = None


# -- the rule set ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Connection:
    trigger: SES
    function_name: str
    invoke: Callable[..., Awaitable[Any]]


class ReceiptRule:
    """A receipt rule of a :class:`MailServer`'s active rule set (make one with
    :meth:`MailServer.create_receipt_rule`); its Lambda actions are the :class:`SES` triggers
    that name it."""

    def __init__(
        self,
        server: MailServer,
        name: str,
        recipients: Sequence[str],
        enabled: bool,
        scan_enabled: bool,
    ) -> None:
        self.server = server
        self.name = name
        self.recipients = tuple(recipients)
        self.enabled = enabled
        self.scan_enabled = scan_enabled
        # Action key (trigger id, function name) -> its connections, latest last.
        self._actions: dict[tuple[int, str], list[_Connection]] = {}

    @property
    def arn(self) -> str:
        return receipt_rule_arn(
            self.server.region, self.server.account_id, self.server.rule_set_name, self.name
        )

    @property
    def actions(self) -> tuple[tuple[str, str], ...]:
        """The rule's Lambda actions now, in order: ``(function name, invocation type)``."""
        return tuple(
            (c[-1].function_name, c[-1].trigger.invocation_type) for c in self._actions.values()
        )

    def matching(self, recipients: Sequence[str]) -> list[str]:
        """Those of ``recipients`` this rule applies to (every one when it names none)."""
        if not self.recipients:
            return list(recipients)
        return [r for r in recipients if any(_matches(e, r) for e in self.recipients)]

    def _connect(self, connection: _Connection) -> None:
        key = (id(connection.trigger), connection.function_name)
        self._actions.setdefault(key, []).append(connection)

    def _disconnect(self, connection: _Connection) -> None:
        key = (id(connection.trigger), connection.function_name)
        connections = self._actions.get(key, [])
        if connection in connections:
            connections.remove(connection)
        if not connections:
            self._actions.pop(key, None)

    def __repr__(self) -> str:
        return f"<ReceiptRule {self.name} recipients={list(self.recipients)}>"


def _matches(entry: str, address: str) -> bool:
    """Whether a rule's recipient entry covers ``address``, as SES matches them: an address
    exactly, ``example.com`` its own addresses only, ``.example.com`` those of every
    subdomain (not of ``example.com`` itself); case does not matter."""
    entry, address = entry.lower(), address.lower()
    if "@" in entry:
        return address == entry
    domain = address.rpartition("@")[2]
    return domain.endswith(entry) if entry.startswith(".") else domain == entry


def _check_rule(name: object, recipients: object, enabled: object, scan_enabled: object) -> None:
    """:raises ~faaslib.InvalidParameterValueException: not a rule SES accepts"""
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        raise InvalidParameterValueException(
            f"Invalid rule name {name!r}: it must contain only ASCII letters, numbers, "
            "underscores, dashes or periods, start and end with a letter or number, and "
            "contain 64 characters or fewer."
        )
    if isinstance(recipients, str) or not isinstance(recipients, Sequence):
        raise InvalidParameterValueException("Recipients must be a list of addresses or domains")
    if len(recipients) > MAX_RULE_RECIPIENTS:
        raise InvalidParameterValueException(
            f"A rule can have at most {MAX_RULE_RECIPIENTS} recipients"
        )
    for entry in recipients:
        if not _valid_entry(entry):
            raise InvalidParameterValueException(f"Invalid recipient: {entry!r}")
    for label, flag in (("Enabled", enabled), ("ScanEnabled", scan_enabled)):
        if not isinstance(flag, bool):
            raise InvalidParameterValueException(f"{label} must be true or false")


def _valid_entry(entry: object) -> bool:
    if not isinstance(entry, str) or not entry.isascii():
        return False
    local, at, domain = entry.rpartition("@")
    if at and (not local or any(c.isspace() for c in local)):
        return False
    return bool(_DOMAIN.fullmatch(domain)) and not (at and domain.startswith("."))


class MailServer(FollowsSite):
    """An in-memory Amazon SES receiving endpoint and its active receipt rule set.

    Rules are made as ``CreateReceiptRule`` makes them (without ``after`` a new rule goes
    first, as SES puts it), and reordered with :meth:`set_receipt_rule_position` or
    :meth:`reorder_receipt_rule_set`; :class:`SES` triggers are their Lambda actions.
    Region, account id and clock not given are the first invoker's that runs it.

    :param rule_set_name: the active rule set's name (in the rules' ARNs)
    :param action_timeout: how long a ``RequestResponse`` action is waited for (seconds, SES:
        30)
    """

    def __init__(
        self,
        *,
        rule_set_name: str = "default-rule-set",
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
        action_timeout: float = ACTION_TIMEOUT,
    ) -> None:
        if not isinstance(rule_set_name, str) or not _RULE_NAME.fullmatch(rule_set_name):
            raise InvalidParameterValueException(f"Invalid rule set name {rule_set_name!r}")
        if isinstance(action_timeout, bool) or not (
            isinstance(action_timeout, (int, float)) and action_timeout > 0
        ):
            raise InvalidParameterValueException("action_timeout must be a positive number")
        self._settle(region, account_id, clock)
        self.rule_set_name = rule_set_name
        self.action_timeout = float(action_timeout)
        self._rules: list[ReceiptRule] = []

    # -- the rule set --------------------------------------------------------------------------

    @property
    def rules(self) -> tuple[ReceiptRule, ...]:
        """The rule set's rules, in the order SES applies them."""
        return tuple(self._rules)

    def rule(self, name: str) -> ReceiptRule:
        """The rule named ``name``.

        :raises RuleDoesNotExistException: there is none
        """
        for rule in self._rules:
            if rule.name == name:
                return rule
        raise RuleDoesNotExistException(f"Rule does not exist: {name}")

    def create_receipt_rule(
        self,
        name: str,
        *,
        recipients: Sequence[str] = (),
        enabled: bool = True,
        scan_enabled: bool = False,
        after: str | None = None,
    ) -> ReceiptRule:
        """Add a rule (SES's ``CreateReceiptRule``).

        :param recipients: addresses (``jane@example.com``), domains (``example.com``: its
            addresses, not its subdomains') and subdomains (``.example.com``: every subdomain's
            addresses); none: every recipient
        :param enabled: whether the rule acts (faaslib's default is the console's, enabled;
            the API's is not)
        :param scan_enabled: whether SES scans the messages for spam and viruses (it then adds
            ``X-SES-Spam-Verdict`` and ``X-SES-Virus-Verdict`` headers)
        :param after: the rule it goes after; ``None`` puts it first, as SES does
        :raises AlreadyExistsException: a rule of that name exists
        :raises RuleDoesNotExistException: ``after`` names no rule
        :raises ~faaslib.InvalidParameterValueException: a bad name, recipient or flag
        """
        _check_rule(name, recipients, enabled, scan_enabled)
        if any(rule.name == name for rule in self._rules):
            raise AlreadyExistsException(f"Rule already exists: {name}")
        rule = ReceiptRule(self, name, recipients, enabled, scan_enabled)
        self._rules.insert(self._position(after), rule)
        return rule

    def delete_receipt_rule(self, name: str) -> None:
        """Remove a rule (its actions no longer run)."""
        self._rules.remove(self.rule(name))

    def set_receipt_rule_position(self, name: str, *, after: str | None = None) -> None:
        """Move a rule after ``after`` (``None``: first), as ``SetReceiptRulePosition``.

        :raises RuleDoesNotExistException: either name is not a rule's
        :raises ~faaslib.InvalidParameterValueException: a rule after itself
        """
        rule = self.rule(name)
        if after is not None:
            self.rule(after)
            if after == name:
                raise InvalidParameterValueException("A rule cannot be placed after itself")
        self._rules.remove(rule)
        self._rules.insert(self._position(after), rule)

    def reorder_receipt_rule_set(self, names: Sequence[str]) -> None:
        """Put the rules in this order (every rule named once, as ``ReorderReceiptRuleSet``).

        :raises RuleDoesNotExistException: a name is not a rule's
        :raises ~faaslib.InvalidParameterValueException: a rule is missing or named twice
        """
        rules = [self.rule(name) for name in names]
        if len(set(map(id, rules))) != len(rules) or len(rules) != len(self._rules):
            raise InvalidParameterValueException("The rule names must name every rule once")
        self._rules[:] = rules

    def _position(self, after: str | None) -> int:
        return 0 if after is None else self._rules.index(self.rule(after)) + 1

    def __repr__(self) -> str:
        return f"<MailServer {self.rule_set_name} rules={[r.name for r in self._rules]}>"

    # -- receiving -----------------------------------------------------------------------------

    async def receive(
        self,
        mail_from: str,
        recipients: str | Sequence[str],
        message: str | bytes | Mapping[str, str] | None = None,
        *,
        verdicts: Mapping[str, str] | None = None,
        dmarc_policy: str | None = None,
    ) -> ReceivedMail:
        """Receive a message over SMTP and run the active rule set on it.

        :param mail_from: the envelope sender (``MAIL FROM``; the ``Return-Path``)
        :param recipients: the envelope recipients (``RCPT TO``)
        :param message: the message: raw RFC 5322 text or bytes, or header fields (``{"Subject":
            ..., "From": ...}``) added to defaults (``From`` the sender, ``To`` the recipients,
            ``Date``, ``Message-ID``, ``Subject``); ``None``: the defaults
        :param verdicts: ``spam``, ``virus``, ``spf``, ``dkim`` and ``dmarc`` checks' results
            (``PASS``, ``FAIL``, ``GRAY`` or ``PROCESSING_FAILED``; default ``PASS``)
        :param dmarc_policy: the sending domain's DMARC policy (``none``, ``quarantine``,
            ``reject``), in the event when the DMARC verdict is ``FAIL``
        :raises ~faaslib.InvalidParameterValueException: a bad address, verdict, policy or
            message
        """
        envelope = _envelope(mail_from, recipients)
        checks = _verdicts(verdicts, dmarc_policy)
        received_at = self.clock.time()
        message_id = _message_id()
        headers = _headers(message, mail_from, envelope, received_at)
        mail = _Mail(message_id, received_at, mail_from, envelope, headers, self.region)
        rules = [r for r in self._rules if r.enabled and r.matching(envelope)]
        scanned = any(rule.scan_enabled for rule in rules)
        ran: list[str] = []
        actions: list[ActionRun] = []
        stopped: tuple[str, Disposition] | None = None
        for rule in rules:
            if stopped is not None and stopped[1] == "STOP_RULE_SET":
                break
            ran.append(rule.name)
            for connection in _live(rule):
                event = mail.event(rule, connection, checks, scanned, self.clock.time())
                run = await self._act(rule, connection, event)
                actions.append(run)
                if run.disposition in ("STOP_RULE", "STOP_RULE_SET"):
                    stopped = (rule.name, run.disposition)
                    break
        return ReceivedMail(message_id, tuple(ran), tuple(actions), stopped)

    async def _act(
        self, rule: ReceiptRule, connection: _Connection, event: dict[str, Any]
    ) -> ActionRun:
        """Invoke one action's function as SES does, and read what it answered."""
        kind = connection.trigger.invocation_type
        run = ActionRun(rule.name, connection.function_name, kind, event)
        answer: Any = None
        with anyio.move_on_after(self.action_timeout if kind == "RequestResponse" else None):
            try:
                result = await connection.invoke(
                    connection.function_name,
                    event,
                    kind,
                    principal="ses.amazonaws.com",
                    source_arn=rule.arn,
                )
            except InvokerClosed:
                rule._disconnect(connection)
                return _replace(run, error=InvokerClosed.error_type)
            except FaaslibError as exc:
                return _replace(run, error=exc.error_type, continued=kind == "RequestResponse")
            if kind == "Event":
                return run
            if result.function_error is not None:
                return _replace(run, error=result.function_error, continued=True)
            answer = _decoded(result.payload)
            return _replace(run, answer=answer, disposition=_disposition(answer))
        return _replace(run, error="Timeout", continued=True)


def _replace(run: ActionRun, *, continued: bool = False, **changes: Any) -> ActionRun:
    """``run`` with ``changes``; ``continued``: SES went on (``CONTINUE``)."""
    if continued:
        changes["disposition"] = "CONTINUE"
    return dataclasses.replace(run, **changes)


def _live(rule: ReceiptRule) -> list[_Connection]:
    """The rule's actions now: the latest connection of each, in order."""
    return [connections[-1] for connections in list(rule._actions.values()) if connections]


def _decoded(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return None


def _disposition(answer: Any) -> Disposition:
    """What SES does after an answer: its ``disposition`` when valid, else ``CONTINUE``."""
    value = answer.get("disposition") if isinstance(answer, dict) else None
    if value == "STOP_RULE":
        return "STOP_RULE"
    if value == "STOP_RULE_SET":
        return "STOP_RULE_SET"
    return "CONTINUE"


# -- the trigger -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SES(Trigger):
    """A Lambda action of a :class:`ReceiptRule` (not a SAM event type: SAM writes it as an
    ``AWS::SES::ReceiptRule`` with a ``LambdaAction``): SES invokes the function for each
    message the rule applies to, as ``ses.amazonaws.com`` with the rule's ARN.

    :param rule: the rule (from :meth:`MailServer.create_receipt_rule`)
    :param invocation_type: ``Event`` (SES's default: queued, not waited for) or
        ``RequestResponse`` (waited for; its answer's ``disposition`` obeyed)
    :raises ~faaslib.InvalidParameterValueException: not a :class:`ReceiptRule`, or another
        invocation type
    """

    faas_trigger: ClassVar[str] = "other"

    rule: ReceiptRule
    invocation_type: str = "Event"
    _listed: list[int] = field(default_factory=lambda: [0], init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.rule, ReceiptRule):
            raise InvalidParameterValueException("SES trigger needs a faaslib ReceiptRule")
        if self.invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValueException(
                f"Invalid InvocationType {self.invocation_type!r}: Event or RequestResponse"
            )

    @property
    def server(self) -> MailServer:
        return self.rule.server

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        return "ses.amazonaws.com", self.rule.arn

    def _attach(self) -> None:
        self._listed[0] += 1

    def _detach(self) -> None:
        self._listed[0] -= 1

    def runner(self, function_name: str, host: TriggerHost) -> SESRunner:
        """Connect the invoker to the rule as ``function_name``'s action (until it stops)."""
        self.server.follow(host.site)
        return SESRunner(self, function_name, host.invoke)


class SESRunner:
    """An :class:`SES` trigger running in an invoker: its rule's action from the moment it is
    made until :meth:`run` ends. It holds nothing to drain: ``receive`` waits for its own
    invocations (an ``Event`` one is then the invoker's to run)."""

    def __init__(
        self, trigger: SES, function_name: str, invoke: Callable[..., Awaitable[Any]]
    ) -> None:
        self.trigger = trigger
        self.function_name = function_name
        self._connection = _Connection(trigger, function_name, invoke)
        trigger.rule._connect(self._connection)
        self.scope: CancelScope | None = None

    async def run(self) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            self.trigger.rule._disconnect(self._connection)

    def settled(self) -> bool:
        return True

    async def wait_settled(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<SESRunner {self.function_name} {self.trigger.rule.name}>"


# -- the message and the event -----------------------------------------------------------------


def _envelope(mail_from: object, recipients: object) -> list[str]:
    """:raises ~faaslib.InvalidParameterValueException: not an envelope SES accepts"""
    if not _is_address(mail_from):
        raise InvalidParameterValueException(f"Invalid MAIL FROM address: {mail_from!r}")
    listed = [recipients] if isinstance(recipients, str) else recipients
    if not isinstance(listed, Sequence) or not listed:
        raise InvalidParameterValueException("A message needs at least one recipient")
    for recipient in listed:
        if not _is_address(recipient):
            raise InvalidParameterValueException(f"Invalid RCPT TO address: {recipient!r}")
    return list(listed)


def _is_address(value: object) -> bool:
    if not isinstance(value, str):
        return False
    local, at, domain = value.rpartition("@")
    return bool(at and local and _DOMAIN.fullmatch(domain)) and not any(
        c.isspace() or c in "<>" for c in value
    )


def _verdicts(verdicts: Mapping[str, str] | None, dmarc_policy: str | None) -> dict[str, Any]:
    """The receipt's verdict members (``spamVerdict``, ...), and ``dmarcPolicy`` on a DMARC
    failure.

    :raises ~faaslib.InvalidParameterValueException: an unknown check, status or policy
    """
    given = dict(verdicts or {})
    for key, status in given.items():
        if key not in _VERDICT_KEYS:
            raise InvalidParameterValueException(
                f"Unknown verdict {key!r}: one of {', '.join(_VERDICT_KEYS)}"
            )
        if status not in VERDICTS:
            raise InvalidParameterValueException(
                f"Invalid {key} verdict {status!r}: one of {', '.join(VERDICTS)}"
            )
    if dmarc_policy is not None and dmarc_policy not in DMARC_POLICIES:
        raise InvalidParameterValueException(
            f"Invalid DMARC policy {dmarc_policy!r}: one of {', '.join(DMARC_POLICIES)}"
        )
    members: dict[str, Any] = {
        f"{key}Verdict": {"status": given.get(key, "PASS")} for key in _VERDICT_KEYS
    }
    if dmarc_policy is not None and given.get("dmarc") == "FAIL":
        members["dmarcPolicy"] = dmarc_policy
    return members


def _message_id() -> str:
    """An id of the form SES gives received messages: 40 lowercase letters and digits."""
    return "".join(secrets.choice(_ID_CHARACTERS) for _ in range(40))


def _headers(
    message: str | bytes | Mapping[str, str] | None,
    mail_from: str,
    recipients: Sequence[str],
    time: float,
) -> list[tuple[str, str]]:
    """The message's header fields, in order, each unfolded.

    :raises ~faaslib.InvalidParameterValueException: not a message, or one without headers
    """
    if message is None or isinstance(message, Mapping):
        fields = _default_fields(mail_from, recipients, time)
        for name, value in (message or {}).items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise InvalidParameterValueException("Header fields must be strings")
            fields = {k: v for k, v in fields.items() if k.lower() != name.lower()}
            fields[name] = value
        return [(name, _unfold(value)) for name, value in fields.items()]
    if isinstance(message, str):
        try:
            message = message.encode()
        except UnicodeEncodeError:
            raise InvalidParameterValueException("The message is not encodable text") from None
    if not isinstance(message, bytes):
        raise InvalidParameterValueException("The message must be text, bytes or header fields")
    parsed = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        message, headersonly=True
    )
    items = [(name, _unfold(str(value))) for name, value in parsed.items()]
    if not items:
        raise InvalidParameterValueException("The message has no header fields")
    return items


def _default_fields(mail_from: str, recipients: Sequence[str], time: float) -> dict[str, str]:
    domain = mail_from.rpartition("@")[2]
    return {
        "From": mail_from,
        "To": ", ".join(recipients),
        "Subject": "",
        "Date": _smtp_date(time),
        "Message-ID": email.utils.make_msgid(domain=domain),
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
    }


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).strip()


def _decoded_text(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError):
        return value


def common_headers(mail_from: str, headers: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``commonHeaders``: ``returnPath``, address lists (``from``, ``to``, ``cc``, ``bcc``,
    ``sender``, ``replyTo``) and ``date``, ``messageId``, ``subject``, each of them the message
    has."""
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name.lower(), value)
    common: dict[str, Any] = {"returnPath": mail_from}
    for key, name in (*_ADDRESS_HEADERS, *_LIST_HEADERS):
        found = first.get(name.lower())
        if found is not None:
            common[key] = _addresses(found)
    for key, name in _TEXT_HEADERS:
        found = first.get(name.lower())
        if found is not None:
            common[key] = _decoded_text(found)
    return common


def _addresses(value: str) -> list[str]:
    """An address list's entries, display names decoded (``Renée <renee@example.org>``)."""
    entries = []
    for name, address in email.utils.getaddresses([value]):
        if not address:
            continue
        name = _decoded_text(name)
        if any(c in name for c in ',;:<>@"'):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        entries.append(f"{name} <{address}>" if name else address)
    return entries


def _smtp_date(time: float) -> str:
    """An RFC 5322 date in UTC (``Tue, 01 Dec 2026 10:00:00 +0000``)."""
    moment = datetime.datetime.fromtimestamp(time, datetime.timezone.utc)
    return email.utils.format_datetime(moment)


def _iso(time: float) -> str:
    moment = datetime.datetime.fromtimestamp(time, datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class _Mail:
    """A received message, as the events of its actions describe it."""

    message_id: str
    received_at: float
    mail_from: str
    recipients: list[str]
    headers: list[tuple[str, str]]
    region: str

    def event(
        self,
        rule: ReceiptRule,
        connection: _Connection,
        checks: dict[str, Any],
        scanned: bool,
        now: float,
    ) -> dict[str, Any]:
        function_arn = (
            f"arn:aws:lambda:{rule.server.region}:{rule.server.account_id}"
            f":function:{connection.function_name}"
        )
        return ses_record_event(
            mail=self.mail_object(checks, scanned),
            receipt=receipt_object(
                time=self.received_at,
                processing_time_millis=max(1, round((now - self.received_at) * 1000)),
                recipients=rule.matching(self.recipients),
                checks=checks,
                function_arn=function_arn,
                invocation_type=connection.trigger.invocation_type,
            ),
        )

    def mail_object(self, checks: dict[str, Any], scanned: bool) -> dict[str, Any]:
        received = (
            f"from mail.{self.mail_from.rpartition('@')[2]} by "
            f"inbound-smtp.{self.region}.amazonaws.com with SMTP id {self.message_id} "
            f"for {self.recipients[0]}; {_smtp_date(self.received_at)} (UTC)"
        )
        added = [("Return-Path", f"<{self.mail_from}>"), ("Received", received)]
        if scanned:
            added.append(("X-SES-Spam-Verdict", checks["spamVerdict"]["status"]))
            added.append(("X-SES-Virus-Verdict", checks["virusVerdict"]["status"]))
        own = [(n, v) for n, v in self.headers if n.lower() != "return-path"]
        return mail_object(
            time=self.received_at,
            mail_from=self.mail_from,
            message_id=self.message_id,
            destination=self.recipients,
            headers=[*added, *own],
        )


def mail_object(
    *,
    time: float,
    mail_from: str,
    message_id: str,
    destination: Sequence[str],
    headers: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """The event's ``mail`` object: ``headers`` as far as their first 10 KB go (then
    ``headersTruncated``), ``commonHeaders`` from them all."""
    kept = _within_limit(headers)
    return {
        "timestamp": _iso(time),
        "source": mail_from,
        "messageId": message_id,
        "destination": list(destination),
        "headersTruncated": len(kept) < len(headers),
        "headers": [{"name": name, "value": value} for name, value in kept],
        "commonHeaders": common_headers(mail_from, headers),
    }


def _within_limit(headers: Sequence[tuple[str, str]]) -> Sequence[tuple[str, str]]:
    """The leading header fields whose total size (``Name: value`` lines) is within
    :data:`MAX_HEADER_BYTES`."""
    total = 0
    for count, (name, value) in enumerate(headers):
        total += len(name.encode()) + len(value.encode()) + 4  # ": " and CRLF
        if total > MAX_HEADER_BYTES:
            return headers[:count]
    return headers


def receipt_object(
    *,
    time: float,
    processing_time_millis: int,
    recipients: Sequence[str],
    checks: Mapping[str, Any],
    function_arn: str,
    invocation_type: str,
) -> dict[str, Any]:
    """The event's ``receipt`` object."""
    return {
        "timestamp": _iso(time),
        "processingTimeMillis": processing_time_millis,
        "recipients": list(recipients),
        **checks,
        "action": {
            "type": "Lambda",
            "functionArn": function_arn,
            "invocationType": invocation_type,
        },
    }


def ses_record_event(*, mail: dict[str, Any], receipt: dict[str, Any]) -> dict[str, Any]:
    """The Lambda action's event: one ``aws:ses`` record."""
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {"mail": mail, "receipt": receipt},
            }
        ]
    }


def receipt_rule_arn(region: str, account: str, rule_set: str, rule: str) -> str:
    """The ARN of an SES receipt rule (what SES invokes a function as)."""
    return f"arn:aws:ses:{region}:{account}:receipt-rule-set/{rule_set}:receipt-rule/{rule}"


def ses_event(
    message: str | bytes | Mapping[str, str] | None = None,
    *,
    mail_from: str = "sender@example.com",
    recipients: str | Sequence[str] = ("recipient@example.com",),
    rule_recipients: Sequence[str] | None = None,
    function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:on-mail",
    invocation_type: str = "Event",
    time: float | None = None,
    region: str = "us-east-1",
    message_id: str | None = None,
    verdicts: Mapping[str, str] | None = None,
    dmarc_policy: str | None = None,
    processing_time_millis: int = 25,
) -> dict[str, Any]:
    """The event an SES receipt rule's Lambda action sends for one message.

    :param message: as :meth:`MailServer.receive` takes it (raw text or bytes, or header
        fields added to the defaults)
    :param rule_recipients: the rule's recipient entries (default: every recipient matches)
    :param time: epoch seconds SES received it (default: now)
    :raises ~faaslib.InvalidParameterValueException: a bad address, verdict, policy, message
        or invocation type
    """
    if invocation_type not in INVOCATION_TYPES:
        raise InvalidParameterValueException(
            f"Invalid InvocationType {invocation_type!r}: Event or RequestResponse"
        )
    envelope = _envelope(mail_from, recipients)
    checks = _verdicts(verdicts, dmarc_policy)
    received_at = datetime.datetime.now(datetime.timezone.utc).timestamp() if time is None else time
    headers = _headers(message, mail_from, envelope, received_at)
    mail = _Mail(message_id or _message_id(), received_at, mail_from, envelope, headers, region)
    matched = [
        r
        for r in envelope
        if rule_recipients is None or any(_matches(e, r) for e in rule_recipients)
    ]
    return ses_record_event(
        mail=mail.mail_object(checks, scanned=False),
        receipt=receipt_object(
            time=received_at,
            processing_time_millis=processing_time_millis,
            recipients=matched,
            checks=checks,
            function_arn=function_arn,
            invocation_type=invocation_type,
        ),
    )
