"""Same handler, same answer: each function of tests/aws_parity_app.py runs in faaslib's
invoker and in AWS's own Python runtime code (awslambdaric's ``handle_event_request``, in a
fresh process per function: one execution environment), with ``faaslib.aws.handler`` as its
``Handler``; plain untyped handlers also run in the runtime without faaslib. The answers must
agree: the same function error or none, the same ``errorType``, ``errorMessage`` and user
frames, the same payload (byte for byte through the entry point).

The one deliberate difference: an event that does not fit the handler's type is faaslib's
400 ``InvalidRequestContentException``, and on AWS (where the request was accepted already)
a function error of that type with the same message.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_parity_app
import pytest

import faaslib

HERE = Path(__file__).parent
HARNESS = HERE / "aws_runtime_harness.py"
REGION, ACCOUNT = "us-east-1", "123456789012"
#: How Lambda's platform names the signal that ended a runtime process.
SIGNALS = {signal.SIGINT: "interrupt", signal.SIGKILL: "killed", signal.SIGTERM: "terminated"}

FUNCTIONS = list(dict.fromkeys(case.function for case in aws_parity_app.CASES))
DIRECT = list(dict.fromkeys(case.function for case in aws_parity_app.CASES if case.direct))


@dataclass(frozen=True)
class Answer:
    """One invocation's answer, as Lambda gives it: a payload, or a function error."""

    request_id: str
    payload: bytes | None = None
    error: dict[str, Any] | None = None


def events_of(function: str) -> list[Any]:
    return [case.event for case in aws_parity_app.CASES if case.function == function]


def run_in_runtime(function: str, handler: str) -> list[Answer]:
    """The function's events through AWS's runtime code, in one fresh process."""
    spec = aws_parity_app.registry.get(function)
    invocations = [
        {"request_id": str(uuid.uuid4()), "payload": json.dumps(event)}
        for event in events_of(function)
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "_HANDLER": handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/05/[$LATEST]0123456789abcdef",
        "HARNESS_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
        "FAASLIB_REGISTRY": "aws_parity_app:registry",
        "FAASLIB_FUNCTION": function,
    }
    out = HERE / f".parity-{uuid.uuid4().hex}.jsonl"
    try:
        process = subprocess.run(
            [sys.executable, str(HARNESS), handler, str(out)],
            input=json.dumps(invocations),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,  # a runtime that exits is an answer
        )
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    finally:
        out.unlink(missing_ok=True)
    answers: list[Answer] = []
    serving = None
    for record in records:
        if record["kind"] == "start":
            serving = record["request_id"]
        elif record["kind"] == "result":
            answers.append(Answer(serving or "", payload=record["payload"].encode("latin-1")))
            serving = None
        elif record["kind"] == "error":
            answers.append(Answer(serving or "", error=record["document"]))
            serving = None
        else:
            raise AssertionError(f"the runtime failed to start: {record}\n{process.stderr}")
    if serving is not None:  # the runtime process exited while serving this invocation
        code = process.returncode
        reason = f"exit status {code}" if code >= 0 else f"signal: {SIGNALS[signal.Signals(-code)]}"
        answers.append(
            Answer(
                serving,
                error={
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {serving} Error: Runtime exited with error: "
                    f"{reason}",
                },
            )
        )
    assert len(answers) == len(invocations), process.stderr
    return answers


@pytest.fixture(scope="module")
def runtime_answers() -> dict[tuple[str, str], list[Answer]]:
    """Every function through the entry point, and the untyped ones directly too."""
    runs = [(f, "faaslib.aws.handler") for f in FUNCTIONS]
    runs += [(f, f"aws_parity_app.{f}") for f in DIRECT]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = pool.map(lambda run: run_in_runtime(*run), runs)
        return dict(zip(runs, answers, strict=True))


async def faaslib_answers(function: str) -> list[Answer | faaslib.InvalidRequestContentException]:
    """The function's events through faaslib's invoker (a fresh copy of the application)."""
    app = importlib.reload(aws_parity_app)
    answers: list[Answer | faaslib.InvalidRequestContentException] = []
    async with faaslib.Invoker(app.registry, region=REGION, account_id=ACCOUNT) as invoker:
        for event in events_of(function):
            try:
                result = await invoker.invoke(function, json.dumps(event))
            except faaslib.InvalidRequestContentException as exc:
                answers.append(exc)
                continue
            if result.function_error is None:
                answers.append(Answer(result.request_id, payload=result.payload))
            else:
                answers.append(Answer(result.request_id, error=json.loads(result.payload)))
    return answers


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def normalized(error: dict[str, Any], request_id: str) -> dict[str, Any]:
    """An error document with its request id written as ``<id>``."""
    text = json.dumps(error, ensure_ascii=False).replace(request_id, "<id>")
    return dict(json.loads(text))


def assert_same(
    ours: Answer | faaslib.InvalidRequestContentException, theirs: Answer, *, same_bytes: bool
) -> None:
    if isinstance(ours, faaslib.InvalidRequestContentException):
        # The deliberate difference: faaslib's 400 is, on AWS, the invocation's error.
        assert theirs.error == {
            "errorMessage": ours.message,
            "errorType": "InvalidRequestContentException",
            "requestId": theirs.request_id,
            "stackTrace": [],
        }
        return
    if ours.error is None:
        assert theirs.error is None, f"the runtime failed: {theirs.error}"
        assert ours.payload is not None
        assert theirs.payload is not None
        if same_bytes or not _is_json(ours.payload):  # bytes handed back pass through
            assert theirs.payload == ours.payload
        else:
            assert json.loads(theirs.payload) == json.loads(ours.payload)
        return
    assert theirs.error is not None, f"the runtime answered {theirs.payload!r}"
    assert normalized(theirs.error, theirs.request_id) == normalized(ours.error, ours.request_id)


@pytest.mark.parametrize("function", FUNCTIONS)
async def test_through_the_entry_point(
    function: str, runtime_answers: dict[tuple[str, str], list[Answer]]
) -> None:
    theirs = runtime_answers[function, "faaslib.aws.handler"]
    ours = await faaslib_answers(function)
    for mine, answer in zip(ours, theirs, strict=True):
        assert_same(mine, answer, same_bytes=True)


@pytest.mark.parametrize("function", DIRECT)
async def test_as_the_runtime_runs_a_plain_handler(
    function: str, runtime_answers: dict[tuple[str, str], list[Answer]]
) -> None:
    theirs = runtime_answers[function, f"aws_parity_app.{function}"]
    ours = await faaslib_answers(function)
    for mine, answer in zip(ours, theirs, strict=True):
        assert_same(mine, answer, same_bytes=False)


def test_the_corpus_covers_what_the_issue_lists() -> None:
    assert len(aws_parity_app.CASES) >= 40
    kinds = {type(v).__name__ for v in aws_parity_app.VALUES.values()}
    assert {"Decimal", "set", "tuple", "datetime", "UUID", "Colour", "bytes", "Order"} <= kinds


def test_a_wrong_setting_fails_the_cold_start_in_the_runtime() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        "_HANDLER": "faaslib.aws.handler",
        "HARNESS_FUNCTION_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f",
        "FAASLIB_REGISTRY": "aws_parity_app:registry",
        "FAASLIB_FUNCTION": "no_such_function",
    }
    out = HERE / f".parity-{uuid.uuid4().hex}.jsonl"
    try:
        subprocess.run(
            [sys.executable, str(HARNESS), "faaslib.aws.handler", str(out)],
            input="[]",
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        [record] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    finally:
        out.unlink(missing_ok=True)
    assert record["kind"] == "init_error"
    document = record["document"]
    assert document["errorType"] == "Runtime.ImportModuleError"
    assert document["errorMessage"].startswith(
        "Unable to import module 'faaslib.aws': FAASLIB_FUNCTION='no_such_function' is not a "
        "function of aws_parity_app:registry: set it to one of "
    )
