"""SES email receiving: the active rule set's order and recipient matching, the Lambda
actions' invocation types and dispositions, the events (checked by Powertools) and the
principal SES invokes as, end to end through a real Invoker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from aws_lambda_powertools.utilities.data_classes import SESEvent
from aws_lambda_powertools.utilities.parser.models import SesModel

import faaslib
from faaslib import InvalidParameterValueException
from faaslib._services.ses import (
    SES,
    AlreadyExistsException,
    MailServer,
    ReceiptRule,
    RuleDoesNotExistException,
    receipt_rule_arn,
    ses_event,
)
from faaslib._site import DEFAULT_SITE

T0 = 1_765_000_000.0  # 2025-12-06T05:46:40Z
ACCOUNT = "123456789012"
Events = list[dict[str, Any]]

RAW = (
    "Return-Path: <bounce@mailer.example.org>\r\n"
    "From: =?utf-8?q?Ren=C3=A9e?= <renee@example.org>\r\n"
    "To: Sales <sales@example.com>, ops@eu.example.com\r\n"
    "Cc: audit@example.net\r\n"
    "Reply-To: replies@example.org\r\n"
    "Subject: Quarterly numbers,\r\n"
    " second line\r\n"
    "Date: Fri, 04 Dec 2026 09:15:00 +0000\r\n"
    "Message-ID: <q4-numbers@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "\r\n"
    "The body, which SES never puts in the event.\r\n"
)


def action(
    registry: faaslib.Registry,
    name: str,
    rule: ReceiptRule,
    invocation_type: str = "Event",
    answer: Callable[[dict[str, Any]], Any] | None = None,
    **config: Any,
) -> Events:
    """Register function ``name`` as a Lambda action of ``rule``; it records each event and
    answers ``answer(event)`` (default: nothing)."""
    seen: Events = []

    async def handler(event: dict[str, Any]) -> Any:
        seen.append(event)
        return None if answer is None else answer(event)

    events = config.pop("events", [SES(rule, invocation_type=invocation_type)])
    registry.function(name=name, events=events, **config)(handler)
    return seen


def answering(disposition: str | None) -> Callable[[dict[str, Any]], Any]:
    return lambda event: {} if disposition is None else {"disposition": disposition}


# -- the rule set ------------------------------------------------------------------------------


def test_rules_go_first_unless_placed_after_another_and_can_be_reordered() -> None:
    server = MailServer()
    server.create_receipt_rule("a")
    server.create_receipt_rule("b")  # no After: SES puts a new rule first
    server.create_receipt_rule("c", after="b")
    server.create_receipt_rule("d", after="a")
    assert [r.name for r in server.rules] == ["b", "c", "a", "d"]
    server.set_receipt_rule_position("b", after="d")
    assert [r.name for r in server.rules] == ["c", "a", "d", "b"]
    server.set_receipt_rule_position("d")
    assert [r.name for r in server.rules] == ["d", "c", "a", "b"]
    server.reorder_receipt_rule_set(["a", "b", "c", "d"])
    assert [r.name for r in server.rules] == ["a", "b", "c", "d"]
    server.delete_receipt_rule("b")
    assert [r.name for r in server.rules] == ["a", "c", "d"]


def test_bad_rules_and_rule_set_calls_get_ses_errors() -> None:
    server = MailServer()
    server.create_receipt_rule("only")
    with pytest.raises(AlreadyExistsException, match="Rule already exists: only"):
        server.create_receipt_rule("only")
    with pytest.raises(RuleDoesNotExistException, match="Rule does not exist: ghost"):
        server.create_receipt_rule("new", after="ghost")
    with pytest.raises(RuleDoesNotExistException):
        server.delete_receipt_rule("ghost")
    with pytest.raises(InvalidParameterValueException, match="after itself"):
        server.set_receipt_rule_position("only", after="only")
    with pytest.raises(InvalidParameterValueException, match="every rule once"):
        server.reorder_receipt_rule_set(["only", "only"])
    for name in ("-dash-first", "x" * 65, "sp ace", ""):
        with pytest.raises(InvalidParameterValueException, match="Invalid rule name"):
            server.create_receipt_rule(name)
    for entry in ("not an address", "@example.com", "a@.example.com", "ex ample.com"):
        with pytest.raises(InvalidParameterValueException, match="Invalid recipient"):
            server.create_receipt_rule("bad", recipients=[entry])
    with pytest.raises(InvalidParameterValueException, match="at most 100"):
        server.create_receipt_rule("many", recipients=[f"u{i}@example.com" for i in range(101)])
    with pytest.raises(InvalidParameterValueException, match="Enabled"):
        server.create_receipt_rule("flag", enabled="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterValueException, match="InvocationType"):
        SES(server.rule("only"), invocation_type="DryRun")
    with pytest.raises(InvalidParameterValueException, match="ReceiptRule"):
        SES("only")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterValueException, match="action_timeout"):
        MailServer(action_timeout=0)
    assert [r.name for r in server.rules] == ["only"]


def test_recipients_match_addresses_domains_and_subdomains_as_ses_does() -> None:
    server = MailServer()
    address = server.create_receipt_rule("address", recipients=["Sales@Example.com"])
    domain = server.create_receipt_rule("domain", recipients=["example.com"])
    subdomains = server.create_receipt_rule("subdomains", recipients=[".example.com"])
    everyone = server.create_receipt_rule("everyone")
    envelope = ["sales@example.com", "ops@example.com", "ops@eu.example.com", "x@example.org"]
    assert address.matching(envelope) == ["sales@example.com"]
    assert domain.matching(envelope) == ["sales@example.com", "ops@example.com"]
    assert subdomains.matching(envelope) == ["ops@eu.example.com"]
    assert everyone.matching(envelope) == envelope
    assert domain.matching(["ops@notexample.com"]) == []
    assert subdomains.matching(["ops@deep.eu.example.com", "a@badexample.com"]) == [
        "ops@deep.eu.example.com"
    ]


# -- receiving: matching, order, events -------------------------------------------------------


async def test_matching_enabled_rules_run_in_order_with_their_recipients() -> None:
    server = MailServer()
    sales = server.create_receipt_rule("sales", recipients=["sales@example.com"])
    eu = server.create_receipt_rule("eu", recipients=[".example.com"], after="sales")
    off = server.create_receipt_rule("off", enabled=False, after="eu")
    other = server.create_receipt_rule("other", recipients=["example.net"], after="off")
    registry = faaslib.Registry()
    on_sales = action(registry, "on-sales", sales)
    on_eu = action(registry, "on-eu", eu)
    on_off = action(registry, "on-off", off)
    on_other = action(registry, "on-other", other)
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry, clock=clock, region="eu-west-1") as invoker:
        received = await server.receive(
            "bounce@mailer.example.org",
            ["sales@example.com", "ops@eu.example.com", "x@example.org"],
            RAW,
        )
        await invoker.drain()
    assert received.rules == ("sales", "eu")
    assert [(a.rule, a.function_name, a.invocation_type) for a in received.actions] == [
        ("sales", "on-sales", "Event"),
        ("eu", "on-eu", "Event"),
    ]
    assert received.stopped_by is None
    assert on_off == []
    assert on_other == []
    [sales_event], [eu_event] = on_sales, on_eu
    assert sales_event == received.actions[0].event
    record = sales_event["Records"][0]
    assert record["eventSource"] == "aws:ses"
    assert record["eventVersion"] == "1.0"
    mail, receipt = record["ses"]["mail"], record["ses"]["receipt"]
    everyone = ["sales@example.com", "ops@eu.example.com", "x@example.org"]
    assert mail["destination"] == everyone
    assert receipt["recipients"] == ["sales@example.com"]
    assert eu_event["Records"][0]["ses"]["receipt"]["recipients"] == ["ops@eu.example.com"]
    assert mail["messageId"] == received.message_id
    assert len(received.message_id) == 40
    assert received.message_id.isalnum()
    assert mail["timestamp"] == receipt["timestamp"] == "2025-12-06T05:46:40.000Z"
    assert mail["source"] == "bounce@mailer.example.org"
    assert mail["headersTruncated"] is False
    assert receipt["action"] == {
        "type": "Lambda",
        "functionArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:on-sales",
        "invocationType": "Event",
    }
    assert receipt["processingTimeMillis"] >= 1
    # The server took the invoker's region: its rules' ARNs and the Received header say so.
    assert sales.arn == (
        f"arn:aws:ses:eu-west-1:{ACCOUNT}:receipt-rule-set/default-rule-set:receipt-rule/sales"
    )
    assert "inbound-smtp.eu-west-1.amazonaws.com" in mail["headers"][1]["value"]


async def test_the_mail_object_holds_the_messages_headers_parsed() -> None:
    server = MailServer(clock=faaslib.VirtualClock(T0))
    rule = server.create_receipt_rule("all")
    registry = faaslib.Registry()
    seen = action(registry, "reader", rule)
    async with faaslib.Invoker(registry) as invoker:
        received = await server.receive("bounce@mailer.example.org", "sales@example.com", RAW)
        await invoker.drain()
    mail = seen[0]["Records"][0]["ses"]["mail"]
    headers = [(h["name"], h["value"]) for h in mail["headers"]]
    assert headers[0] == ("Return-Path", "<bounce@mailer.example.org>")
    assert headers[1][0] == "Received"
    assert f"with SMTP id {received.message_id} for sales@example.com" in headers[1][1]
    assert headers[2:] == [
        ("From", "=?utf-8?q?Ren=C3=A9e?= <renee@example.org>"),
        ("To", "Sales <sales@example.com>, ops@eu.example.com"),
        ("Cc", "audit@example.net"),
        ("Reply-To", "replies@example.org"),
        ("Subject", "Quarterly numbers, second line"),  # unfolded
        ("Date", "Fri, 04 Dec 2026 09:15:00 +0000"),
        ("Message-ID", "<q4-numbers@example.org>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=UTF-8"),
    ]
    assert mail["commonHeaders"] == {
        "returnPath": "bounce@mailer.example.org",
        "from": ["Renée <renee@example.org>"],
        "to": ["Sales <sales@example.com>", "ops@eu.example.com"],
        "cc": ["audit@example.net"],
        "replyTo": ["replies@example.org"],
        "date": "Fri, 04 Dec 2026 09:15:00 +0000",
        "messageId": "<q4-numbers@example.org>",
        "subject": "Quarterly numbers, second line",
    }
    assert "body" not in str(seen[0])
    parsed = SesModel.model_validate(seen[0])
    common = parsed.Records[0].ses.mail.commonHeaders
    assert common.header_from == ["Renée <renee@example.org>"]
    assert common.reply_to == ["replies@example.org"]
    assert common.cc == ["audit@example.net"]


async def test_header_fields_fill_in_a_message_and_verdicts_reach_the_event() -> None:
    clock = faaslib.VirtualClock(T0)
    server = MailServer(clock=clock, rule_set_name="inbound")
    scanned = server.create_receipt_rule("scanned", scan_enabled=True)
    registry = faaslib.Registry()
    seen = action(registry, "checker", scanned)
    async with faaslib.Invoker(registry) as invoker:
        await server.receive(
            "jane@example.org",
            ["team@example.com", "lead@example.com"],
            {"Subject": "Lunch?", "to": "team@example.com"},  # replaces the default To
            verdicts={
                "spam": "FAIL",
                "virus": "GRAY",
                "dkim": "PROCESSING_FAILED",
                "dmarc": "FAIL",
            },
            dmarc_policy="quarantine",
        )
        await server.receive("joe@example.org", "team@example.com", dmarc_policy="reject")
        await invoker.drain()
    first = seen[0]["Records"][0]["ses"]
    assert {k: v for k, v in first["receipt"].items() if "Verdict" in k or k == "dmarcPolicy"} == {
        "spamVerdict": {"status": "FAIL"},
        "virusVerdict": {"status": "GRAY"},
        "spfVerdict": {"status": "PASS"},
        "dkimVerdict": {"status": "PROCESSING_FAILED"},
        "dmarcVerdict": {"status": "FAIL"},
        "dmarcPolicy": "quarantine",
    }
    names = [h["name"] for h in first["mail"]["headers"]]
    assert names[:4] == ["Return-Path", "Received", "X-SES-Spam-Verdict", "X-SES-Virus-Verdict"]
    assert {"name": "X-SES-Spam-Verdict", "value": "FAIL"} in first["mail"]["headers"]
    common = first["mail"]["commonHeaders"]
    assert common["from"] == ["jane@example.org"]
    assert common["to"] == ["team@example.com"]
    assert common["subject"] == "Lunch?"
    assert common["date"] == "Sat, 06 Dec 2025 05:46:40 +0000"
    assert common["messageId"].endswith("@example.org>")
    event = SESEvent(seen[0])
    assert event.receipt.spam_verdict.status == "FAIL"
    assert event.receipt.dkim_verdict.status == "PROCESSING_FAILED"
    assert event.receipt.dmarc_policy == "quarantine"
    assert event.mail.common_headers.subject == "Lunch?"
    # The policy is only told on a DMARC failure; every verdict defaults to PASS.
    second = seen[1]["Records"][0]["ses"]["receipt"]
    assert "dmarcPolicy" not in second
    assert {second[k]["status"] for k in second if k.endswith("Verdict")} == {"PASS"}
    SesModel.model_validate(seen[1])


async def test_bad_envelopes_verdicts_and_messages_are_refused() -> None:
    server = MailServer()
    for sender, recipients in (("nobody", ["a@example.com"]), ("a@example.com", [])):
        with pytest.raises(InvalidParameterValueException):
            await server.receive(sender, recipients)
    with pytest.raises(InvalidParameterValueException, match="RCPT TO"):
        await server.receive("a@example.com", ["<b@example.com>"])
    with pytest.raises(InvalidParameterValueException, match="Unknown verdict"):
        await server.receive("a@example.com", "b@example.com", verdicts={"phish": "PASS"})
    with pytest.raises(InvalidParameterValueException, match="Invalid spam verdict"):
        await server.receive("a@example.com", "b@example.com", verdicts={"spam": "pass"})
    with pytest.raises(InvalidParameterValueException, match="DMARC policy"):
        await server.receive("a@example.com", "b@example.com", dmarc_policy="drop")
    with pytest.raises(InvalidParameterValueException, match="no header fields"):
        await server.receive("a@example.com", "b@example.com", "\r\njust a body")


# -- invocation types and dispositions ---------------------------------------------------------


async def test_event_actions_are_not_waited_for() -> None:
    server = MailServer(clock=faaslib.VirtualClock(T0))
    rule = server.create_receipt_rule("all")
    registry = faaslib.Registry()
    release = anyio.Event()
    seen: Events = []

    @registry.function(name="slow", events=[SES(rule)])
    async def slow(event: dict[str, Any]) -> dict[str, str]:
        await release.wait()
        seen.append(event)
        return {"disposition": "STOP_RULE_SET"}  # an Event action's answer goes nowhere

    after = action(registry, "after", rule)
    async with faaslib.Invoker(registry) as invoker:
        received = await server.receive("a@example.org", "b@example.com")
        assert seen == []  # receive returned while the function still waits
        assert [(a.function_name, a.disposition) for a in received.actions] == [
            ("slow", None),
            ("after", None),
        ]
        release.set()
        await invoker.drain()
    assert len(seen) == 1
    assert len(after) == 1
    parsed = SesModel.model_validate(seen[0])
    assert parsed.Records[0].ses.receipt.action.invocationType == "Event"


async def test_request_response_dispositions_stop_the_rule_or_the_rule_set() -> None:
    server = MailServer(clock=faaslib.VirtualClock(T0))
    filters = server.create_receipt_rule("filters")
    archive = server.create_receipt_rule("archive", after="filters")
    last = server.create_receipt_rule("last", after="archive")
    registry = faaslib.Registry()

    def by_subject(event: dict[str, Any]) -> dict[str, str]:
        subject = event["Records"][0]["ses"]["mail"]["commonHeaders"]["subject"]
        return {"disposition": subject}

    screen = action(registry, "screen", filters, "RequestResponse", by_subject)
    tagger = action(registry, "tagger", filters, "RequestResponse", answering(None))
    archiver = action(registry, "archiver", archive, "RequestResponse", answering("CONTINUE"))
    closer = action(registry, "closer", last)
    async with faaslib.Invoker(registry) as invoker:
        stop_rule = await server.receive("a@example.org", "b@example.com", {"Subject": "STOP_RULE"})
        stop_all = await server.receive(
            "a@example.org", "b@example.com", {"Subject": "STOP_RULE_SET"}
        )
        odd = await server.receive("a@example.org", "b@example.com", {"Subject": "stop_rule"})
        await invoker.drain()
    # STOP_RULE: the rest of that rule's actions skipped, the later rules run.
    assert [(a.function_name, a.disposition) for a in stop_rule.actions] == [
        ("screen", "STOP_RULE"),
        ("archiver", "CONTINUE"),
        ("closer", None),
    ]
    assert stop_rule.rules == ("filters", "archive", "last")
    assert stop_rule.stopped_by == ("filters", "STOP_RULE")
    # STOP_RULE_SET: nothing more at all.
    assert [(a.function_name, a.disposition) for a in stop_all.actions] == [
        ("screen", "STOP_RULE_SET")
    ]
    assert stop_all.rules == ("filters",)
    assert stop_all.stopped_by == ("filters", "STOP_RULE_SET")
    # Any other value (case counts), or none: CONTINUE.
    assert [(a.function_name, a.disposition) for a in odd.actions] == [
        ("screen", "CONTINUE"),
        ("tagger", "CONTINUE"),
        ("archiver", "CONTINUE"),
        ("closer", None),
    ]
    assert odd.actions[0].answer == {"disposition": "stop_rule"}
    assert odd.actions[1].answer == {}
    assert odd.stopped_by is None
    assert len(screen) == 3
    assert len(tagger) == 1
    assert len(archiver) == 2
    assert len(closer) == 2
    # A RequestResponse action's event says so; Powertools' data class reads it (its parser
    # model only admits the Event invocation type).
    event = SESEvent(screen[0])
    assert event.receipt.action.invocation_type == "RequestResponse"
    assert event.receipt.action.get_type == "Lambda"
    assert event.mail.common_headers.subject == "STOP_RULE"


async def test_a_failing_or_late_function_lets_the_mail_go_on() -> None:
    server = MailServer(clock=faaslib.VirtualClock(T0), action_timeout=0.05)
    rule = server.create_receipt_rule("all")
    registry = faaslib.Registry()

    @registry.function(name="broken", events=[SES(rule, invocation_type="RequestResponse")])
    async def broken(event: dict[str, Any]) -> dict[str, str]:
        raise RuntimeError("cannot read mail")

    @registry.function(
        name="slow", timeout=30, events=[SES(rule, invocation_type="RequestResponse")]
    )
    async def slow(event: dict[str, Any]) -> dict[str, str]:
        await anyio.sleep(5)
        return {"disposition": "STOP_RULE_SET"}

    after = action(registry, "after", rule, "RequestResponse", answering("STOP_RULE"))
    async with faaslib.Invoker(registry) as invoker:
        received = await server.receive("a@example.org", "b@example.com")
        await invoker.drain()
    assert [(a.function_name, a.error, a.disposition) for a in received.actions] == [
        ("broken", "Unhandled", "CONTINUE"),
        ("slow", "Timeout", "CONTINUE"),
        ("after", None, "STOP_RULE"),
    ]
    assert received.actions[0].answer is None
    assert len(after) == 1


# -- who invokes -------------------------------------------------------------------------------


async def test_actions_invoke_as_ses_with_the_rules_arn() -> None:
    server = MailServer(rule_set_name="inbound")
    listed_rule = server.create_receipt_rule("listed")
    wired_rule = server.create_receipt_rule("wired", after="listed")
    assert SES(wired_rule).invoked_as("f", DEFAULT_SITE) == (
        "ses.amazonaws.com",
        f"arn:aws:ses:us-east-1:{ACCOUNT}:receipt-rule-set/inbound:receipt-rule/wired",
    )
    registry = faaslib.Registry()
    listed = action(registry, "listed", listed_rule)  # SAM's permission comes with the event
    wired = action(
        registry,
        "wired",
        wired_rule,
        "RequestResponse",
        events=[SES(wired_rule, invocation_type="RequestResponse", implicit_permission=False)],
    )
    arn = receipt_rule_arn("eu-west-1", ACCOUNT, "inbound", "wired")
    async with faaslib.Invoker(
        registry, clock=faaslib.VirtualClock(T0), region="eu-west-1", check_permissions=True
    ) as invoker:
        refused = await server.receive("a@example.org", "b@example.com")
        registry.add_permission("wired", "ses", "ses.amazonaws.com", source_arn=arn)
        allowed = await server.receive("a@example.org", "b@example.com")
        # SES's documented statement names the account alone (SourceAccount): it matches too.
        registry.remove_permission("wired", "ses")
        registry.add_permission("wired", "ses-account", "ses.amazonaws.com", source_account=ACCOUNT)
        by_account = await server.receive("a@example.org", "b@example.com")
        await invoker.drain()
    assert wired_rule.arn == arn
    assert [(a.function_name, a.error) for a in refused.actions] == [
        ("listed", None),
        ("wired", "AccessDeniedException"),
    ]
    assert refused.actions[1].disposition == "CONTINUE"
    assert [(a.function_name, a.error) for a in allowed.actions] == [
        ("listed", None),
        ("wired", None),
    ]
    assert by_account.actions[1].error is None
    assert len(listed) == 3
    assert len(wired) == 2


async def test_actions_follow_the_functions_listing_them_and_the_invoker() -> None:
    server = MailServer(clock=faaslib.VirtualClock(T0))
    rule = server.create_receipt_rule("all")
    registry = faaslib.Registry()
    first = action(registry, "first", rule)
    second = action(registry, "second", rule, "RequestResponse")
    # Without an invoker no action is connected: SES has nothing to invoke.
    nothing = await server.receive("a@example.org", "b@example.com")
    assert nothing.rules == ("all",)
    assert nothing.actions == ()
    async with faaslib.Invoker(registry) as invoker:
        assert rule.actions == (("first", "Event"), ("second", "RequestResponse"))
        await server.receive("a@example.org", "b@example.com")
        await invoker.drain()
    assert len(rule.actions) == 0  # the invoker closed: no action is connected
    assert len(first) == 1
    assert len(second) == 1


def test_headers_past_10_kb_are_left_out_and_said_to_be() -> None:
    fields = {f"X-Trace-{i:03}": "t" * 100 for i in range(120)}
    event = ses_event({"Subject": "long", **fields})
    mail = event["Records"][0]["ses"]["mail"]
    assert mail["headersTruncated"] is True
    kept = mail["headers"]
    assert sum(len(h["name"]) + len(h["value"]) + 4 for h in kept) <= 10 * 1024
    assert kept[-1]["name"].startswith("X-Trace-")
    assert len(kept) < 2 + 7 + 120
    assert mail["commonHeaders"]["subject"] == "long"  # from every header
    SesModel.model_validate(event)
    assert ses_event()["Records"][0]["ses"]["mail"]["headersTruncated"] is False


def test_ses_event_factory_makes_the_actions_event() -> None:
    event = ses_event(
        {"Subject": "Invoice 7"},
        mail_from="billing@example.org",
        recipients=["ap@example.com", "cc@elsewhere.net"],
        rule_recipients=["example.com"],
        time=T0,
        message_id="a" * 40,
        verdicts={"spf": "GRAY"},
    )
    parsed = SesModel.model_validate(event)
    record = parsed.Records[0]
    assert record.eventSource == "aws:ses"
    assert record.ses.mail.messageId == "a" * 40
    assert record.ses.mail.destination == ["ap@example.com", "cc@elsewhere.net"]
    assert record.ses.receipt.recipients == ["ap@example.com"]
    assert record.ses.receipt.spfVerdict.status == "GRAY"
    assert record.ses.mail.commonHeaders.subject == "Invoice 7"
    assert event["Records"][0]["ses"]["receipt"]["processingTimeMillis"] == 25
    sync = ses_event(invocation_type="RequestResponse")
    assert SESEvent(sync).receipt.action.invocation_type == "RequestResponse"
    with pytest.raises(InvalidParameterValueException):
        ses_event(invocation_type="DryRun")
