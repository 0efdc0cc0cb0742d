"""AWS's published sample state machines, rewritten with faaslib functions as their tasks.

Each machine follows a sample of the Step Functions developer guide or the States Language
specification (its states, fields, paths and intrinsics; AWS services other than Lambda
replaced by functions) and is checked against the outputs and statuses the docs describe.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

import faaslib
from faaslib.workflows import ExecutionResult, InvalidDefinition
from faaslib.workflows._definition import parse_definition

if TYPE_CHECKING:
    from faaslib.workflows._machines import MachineType

ACCOUNT = "123456789012"


def arn(function: str) -> str:
    """A registry function's ARN, as a sample's ``Resource`` names it."""
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}"


def lambda_task(function: str, **fields: Any) -> dict[str, Any]:
    """A Task of the optimized integration whose result is the function's answer."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        **fields,
    }


async def run_to_end(
    invoker: faaslib.Invoker, clock: faaslib.VirtualClock, execution_arn: str
) -> ExecutionResult:
    """Drain, and move the virtual clock to the next wake-up, until the execution ends."""
    while True:
        await invoker.drain()
        described = invoker.describe_execution(execution_arn)
        wakeup = clock.next_wakeup()
        if described.status != "RUNNING" or wakeup is None:
            return described
        clock.advance(max(wakeup - clock.time(), 0))


def state_names(history: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if "stateEnteredEventDetails" in event
    ]


def problem_locations(definition: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(definition)
    return [problem.location for problem in caught.value.problems]


# -- Error handling tutorial: a function that throws CustomError, three catchers ---------------


class CustomError(Exception):
    pass


CATCH_TUTORIAL = {
    "Comment": "Catchers tried in order: the function's own error, any task error, anything",
    "StartAt": "CreateAccount",
    "States": {
        "CreateAccount": {
            "Type": "Task",
            "Resource": arn("FailFunction"),
            "Catch": [
                {"ErrorEquals": ["CustomError"], "Next": "CustomErrorFallback"},
                {"ErrorEquals": ["States.TaskFailed"], "Next": "ReservedTypeFallback"},
                {"ErrorEquals": ["States.ALL"], "Next": "CatchAllFallback"},
            ],
            "End": True,
        },
        "CustomErrorFallback": {
            "Type": "Pass",
            "Result": "This is a fallback from a custom Lambda function exception",
            "End": True,
        },
        "ReservedTypeFallback": {
            "Type": "Pass",
            "Result": "This is a fallback from a reserved error code",
            "End": True,
        },
        "CatchAllFallback": {
            "Type": "Pass",
            "Result": "This is a fallback from any error code",
            "End": True,
        },
    },
}


@pytest.mark.parametrize(
    ("raised", "fallback"),
    [
        (CustomError, "This is a fallback from a custom Lambda function exception"),
        (KeyError, "This is a fallback from a reserved error code"),
    ],
)
async def test_error_handling_tutorial_routes_each_error_to_its_catcher(
    raised: type[Exception], fallback: str
) -> None:
    registry = faaslib.Registry()

    @registry.function(name="FailFunction")
    async def fail(event: dict[str, Any]) -> None:
        raise raised("This is a custom error!")

    registry.state_machine("catch-tutorial", CATCH_TUTORIAL, type="EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("catch-tutorial", "{}")
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    assert json.loads(result.output) == fallback


async def test_error_handling_tutorial_history_shows_the_caught_failure() -> None:
    registry = faaslib.Registry()

    @registry.function(name="FailFunction")
    async def fail(event: dict[str, Any]) -> None:
        raise CustomError("This is a custom error!")

    registry.state_machine("catch-tutorial", CATCH_TUTORIAL)
    async with faaslib.Invoker(registry) as invoker:
        execution = await invoker.start_execution("catch-tutorial", '{"who": "me"}')
        await invoker.drain()
        described = invoker.describe_execution(execution)
        history = invoker.get_execution_history(execution)
    assert described.status == "SUCCEEDED"
    types = [event["type"] for event in history]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionFailed",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    failed = history[types.index("LambdaFunctionFailed")]["lambdaFunctionFailedEventDetails"]
    assert failed["error"] == "CustomError"
    assert json.loads(failed["cause"])["errorMessage"] == "This is a custom error!"
    assert state_names(history) == ["CreateAccount", "CustomErrorFallback"]


# -- Error handling guide: retriers by error, then a catcher ------------------------------------


class ErrorA(Exception):
    pass


class ErrorB(Exception):
    pass


class ErrorC(Exception):
    pass


async def test_retriers_count_attempts_per_retrier_then_the_catcher_takes_over() -> None:
    """The guide's example: errors ErrorA, ErrorB, ErrorC, ErrorB in a row wait 1 s and 2 s
    (the first retrier), 5 s (the second), and the fourth goes to the catcher, the first
    retrier having used its two attempts."""
    registry = faaslib.Registry()
    clock = faaslib.VirtualClock()
    errors: list[type[Exception]] = [ErrorA, ErrorB, ErrorC, ErrorB]
    attempts: list[float] = []

    @registry.function(name="X")
    async def flaky(event: dict[str, Any]) -> None:
        attempts.append(clock.time())
        raise errors[len(attempts) - 1]("try again")

    registry.state_machine(
        "retriers",
        {
            "StartAt": "X",
            "States": {
                "X": {
                    "Type": "Task",
                    "Resource": arn("X"),
                    "Next": "Y",
                    "Retry": [
                        {
                            "ErrorEquals": ["ErrorA", "ErrorB"],
                            "IntervalSeconds": 1,
                            "BackoffRate": 2.0,
                            "MaxAttempts": 2,
                        },
                        {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5},
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}],
                },
                "Y": {"Type": "Pass", "End": True},
                "Z": {"Type": "Pass", "Result": "caught", "End": True},
            },
        },
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        execution = await invoker.start_execution("retriers")
        described = await run_to_end(invoker, clock, execution)
    assert described.status == "SUCCEEDED"
    assert described.output == '"caught"'
    waits = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert waits == [1, 2, 5]


async def test_catcher_result_path_keeps_the_input_beside_the_error() -> None:
    """The guide: ``"ResultPath": "$.error"`` on a catcher gives the state's input with the
    error output (``Error`` and ``Cause``) added under ``error``."""
    registry = faaslib.Registry()

    @registry.function(name="Work")
    async def work(event: dict[str, Any]) -> None:
        raise ValueError("the work failed")

    registry.state_machine(
        "catch-result-path",
        {
            "StartAt": "Work",
            "States": {
                "Work": {
                    "Type": "Task",
                    "Resource": arn("Work"),
                    "Catch": [
                        {"ErrorEquals": ["States.ALL"], "Next": "NextTask", "ResultPath": "$.error"}
                    ],
                    "End": True,
                },
                "NextTask": {"Type": "Pass", "End": True},
            },
        },
        type="EXPRESS",
    )
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("catch-result-path", '{"foo": "bar"}')
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    output = json.loads(result.output)
    assert output["foo"] == "bar"
    assert output["error"]["Error"] == "ValueError"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "the work failed"
    assert set(output) == {"foo", "error"}


# -- Job poller sample: submit, wait, poll until done ------------------------------------------

JOB_POLLER = {
    "Comment": "Submits a job, then polls its status until it succeeds or fails",
    "StartAt": "Submit Job",
    "States": {
        "Submit Job": {
            "Type": "Task",
            "Resource": arn("SubmitJob"),
            "ResultPath": "$.guid",
            "Next": "Wait X Seconds",
        },
        "Wait X Seconds": {"Type": "Wait", "SecondsPath": "$.wait_time", "Next": "Get Job Status"},
        "Get Job Status": {
            "Type": "Task",
            "Resource": arn("CheckJob"),
            "Next": "Job Complete?",
            "InputPath": "$.guid",
            "ResultPath": "$.status",
        },
        "Job Complete?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.status", "StringEquals": "FAILED", "Next": "Job Failed"},
                {
                    "Variable": "$.status",
                    "StringEquals": "SUCCEEDED",
                    "Next": "Get Final Job Status",
                },
            ],
            "Default": "Wait X Seconds",
        },
        "Job Failed": {
            "Type": "Fail",
            "Cause": "AWS Batch Job Failed",
            "Error": "DescribeJob returned FAILED",
        },
        "Get Final Job Status": {
            "Type": "Task",
            "Resource": arn("CheckJob"),
            "InputPath": "$.guid",
            "End": True,
        },
    },
}


def job_functions(clock: faaslib.VirtualClock, outcome: str, runs_for: float) -> faaslib.Registry:
    """SubmitJob answers a job id; CheckJob answers RUNNING until ``runs_for`` seconds after
    the submission, then ``outcome``."""
    registry = faaslib.Registry()
    submitted: dict[str, float] = {}

    @registry.function(name="SubmitJob")
    async def submit(event: dict[str, Any]) -> dict[str, str]:
        job_id = f"job-{len(submitted) + 1}"
        submitted[job_id] = clock.time()
        return {"jobId": job_id, "jobName": event["jobName"]}

    @registry.function(name="CheckJob")
    async def check(guid: dict[str, str]) -> str:
        started = submitted[guid["jobId"]]
        return outcome if clock.time() - started >= runs_for else "RUNNING"

    registry.state_machine("job-poller", JOB_POLLER)
    return registry


async def test_job_poller_waits_on_the_clock_until_the_job_succeeds() -> None:
    clock = faaslib.VirtualClock()
    registry = job_functions(clock, "SUCCEEDED", runs_for=100)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        start = clock.time()
        execution = await invoker.start_execution(
            "job-poller", {"jobName": "my-job", "wait_time": 30}
        )
        described = await run_to_end(invoker, clock, execution)
        history = invoker.get_execution_history(execution)
    assert described.status == "SUCCEEDED"
    assert described.output == '"SUCCEEDED"'
    assert clock.time() - start == 120  # polled at 30, 60, 90 (RUNNING) and 120 s
    names = state_names(history)
    assert names.count("Wait X Seconds") == 4
    assert names.count("Get Job Status") == 4
    assert names[-1] == "Get Final Job Status"


async def test_job_poller_fails_with_the_fail_states_error_and_cause() -> None:
    clock = faaslib.VirtualClock()
    registry = job_functions(clock, "FAILED", runs_for=45)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        execution = await invoker.start_execution(
            "job-poller", {"jobName": "doomed", "wait_time": 30}
        )
        described = await run_to_end(invoker, clock, execution)
        history = invoker.get_execution_history(execution)
    assert described.status == "FAILED"
    assert described.output is None
    assert (described.error, described.cause) == (
        "DescribeJob returned FAILED",
        "AWS Batch Job Failed",
    )
    assert [event["type"] for event in history[-2:]] == ["FailStateEntered", "ExecutionFailed"]


def test_job_poller_with_a_choice_to_a_missing_state_is_invalid() -> None:
    broken = json.loads(json.dumps(JOB_POLLER))
    broken["States"]["Job Complete?"]["Choices"][1]["Next"] = "Get Final Status"
    locations = problem_locations(broken)
    assert "/States/Job Complete?/Choices/1/Next" in locations


# -- Transfer data records sample: a for loop popping a list ------------------------------------

TRANSFER_RECORDS = {
    "Comment": "Reads records one at a time and sends each to a queue, until the list says DONE",
    "StartAt": "Seed the Table",
    "TimeoutSeconds": 3600,
    "States": {
        "Seed the Table": {
            "Type": "Task",
            "Resource": arn("SeedTable"),
            "ResultPath": "$.List",
            "Next": "For Loop Condition",
        },
        "For Loop Condition": {
            "Type": "Choice",
            "Choices": [
                {
                    "Not": {"Variable": "$.List[0]", "StringEquals": "DONE"},
                    "Next": "Read Next Message from Table",
                }
            ],
            "Default": "Succeed",
        },
        "Read Next Message from Table": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "GetItem",
                "Payload": {"TableName": "TransferTable", "Key": {"MessageId.$": "$.List[0]"}},
            },
            "ResultSelector": {"Item.$": "$.Payload"},
            "ResultPath": "$.Table",
            "Next": "Send Message to Queue",
        },
        "Send Message to Queue": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "SendMessage",
                "Payload": {"MessageBody.$": "$.Table.Item.Message"},
            },
            "ResultSelector": {"MessageId.$": "$.Payload.MessageId"},
            "ResultPath": "$.Queue",
            "Next": "Pop Element from List",
        },
        "Pop Element from List": {
            "Type": "Pass",
            "Parameters": {"List.$": "$.List[1:]"},
            "Next": "For Loop Condition",
        },
        "Succeed": {"Type": "Succeed"},
    },
}


async def test_transfer_data_records_sends_every_seeded_record_in_order() -> None:
    registry = faaslib.Registry()
    table: dict[str, dict[str, str]] = {}
    queue = faaslib.Queue("transfer")

    @registry.function(name="SeedTable")
    async def seed(event: dict[str, Any]) -> list[str]:
        ids = [f"m{i}" for i in range(1, 11)]
        for message_id in ids:
            table[message_id] = {"MessageId": message_id, "Message": f"hello {message_id}"}
        return [*ids, "DONE"]

    @registry.function(name="GetItem")
    async def get_item(event: dict[str, Any]) -> dict[str, str]:
        assert event["TableName"] == "TransferTable"
        return table[event["Key"]["MessageId"]]

    @registry.function(name="SendMessage")
    async def send(event: dict[str, str]) -> dict[str, str]:
        return {"MessageId": queue.send(event["MessageBody"])}

    registry.state_machine("transfer", TRANSFER_RECORDS)
    async with faaslib.Invoker(registry) as invoker:
        execution = await invoker.start_execution("transfer")
        await invoker.drain()
        described = invoker.describe_execution(execution)
        history = invoker.get_execution_history(execution)
    assert described.status == "SUCCEEDED"
    assert described.output == '{"List":["DONE"]}'
    bodies = [message.body for message in queue.receive(max_messages=10)]
    assert bodies == [f"hello m{i}" for i in range(1, 11)]
    assert state_names(history).count("Pop Element from List") == 10


# -- Iterate a loop with a Lambda function (tutorial) -------------------------------------------

ITERATE_LOOP = {
    "Comment": "Runs a piece of work a set number of times, counting with a function",
    "StartAt": "ConfigureCount",
    "States": {
        "ConfigureCount": {
            "Type": "Pass",
            "Result": {"count": 10, "index": 0, "step": 1},
            "ResultPath": "$.iterator",
            "Next": "Iterator",
        },
        "Iterator": {
            "Type": "Task",
            "Resource": arn("Iterator"),
            "ResultPath": "$.iterator",
            "Next": "IsCountReached",
        },
        "IsCountReached": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.iterator.continue", "BooleanEquals": True, "Next": "ExampleWork"}
            ],
            "Default": "Done",
        },
        "ExampleWork": {
            "Comment": "The work to repeat",
            "Type": "Pass",
            "Result": {"success": True},
            "ResultPath": "$.result",
            "Next": "Iterator",
        },
        "Done": {"Type": "Pass", "End": True},
    },
}


async def test_iterate_loop_tutorial_counts_to_ten() -> None:
    registry = faaslib.Registry()
    calls = 0

    @registry.function(name="Iterator")
    async def iterate(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        counter = event["iterator"]
        index = counter["index"] + counter["step"]
        return {**counter, "index": index, "continue": index < counter["count"]}

    registry.state_machine("iterate", ITERATE_LOOP, type="EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("iterate", "{}")
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    assert json.loads(result.output) == {
        "iterator": {"count": 10, "index": 10, "step": 1, "continue": False},
        "result": {"success": True},
    }
    assert calls == 10


def test_iterate_loop_with_a_result_path_that_is_not_a_path_is_invalid() -> None:
    broken = json.loads(json.dumps(ITERATE_LOOP))
    broken["States"]["Iterator"]["ResultPath"] = "iterator"
    assert problem_locations(broken) == ["/States/Iterator/ResultPath"]


# -- Callback pattern and human approval: .waitForTaskToken ------------------------------------

HUMAN_APPROVAL = {
    "StartAt": "Lambda Callback",
    "States": {
        "Lambda Callback": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "SendApprovalRequest",
                "Payload": {"ExecutionContext.$": "$$", "APIGatewayEndpoint": "https://example"},
            },
            "Next": "ManualApprovalChoiceState",
        },
        "ManualApprovalChoiceState": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.Status",
                    "StringEquals": "Approved! Task approved by someone@example.com",
                    "Next": "ApprovedPassState",
                },
                {
                    "Variable": "$.Status",
                    "StringEquals": "Rejected! Task rejected by someone@example.com",
                    "Next": "RejectedPassState",
                },
            ],
        },
        "ApprovedPassState": {"Type": "Pass", "End": True},
        "RejectedPassState": {"Type": "Pass", "End": True},
    },
}


@pytest.mark.parametrize(
    ("verdict", "last_state"),
    [("Approved", "ApprovedPassState"), ("Rejected", "RejectedPassState")],
)
async def test_human_approval_waits_for_the_answer_to_its_token(
    verdict: str, last_state: str
) -> None:
    registry = faaslib.Registry()
    requests: list[dict[str, Any]] = []

    @registry.function(name="SendApprovalRequest")
    async def send_request(event: dict[str, Any]) -> None:
        requests.append(event)  # the sample e-mails links carrying the token

    registry.state_machine("approval", HUMAN_APPROVAL)
    async with faaslib.Invoker(registry) as invoker:
        execution = await invoker.start_execution("approval", '{"order": 17}')
        await invoker.drain()
        assert invoker.describe_execution(execution).status == "RUNNING"
        [request] = requests
        context = request["ExecutionContext"]
        assert context["Execution"]["Id"] == execution
        assert context["Execution"]["Input"] == {"order": 17}
        assert context["State"]["Name"] == "Lambda Callback"
        status = f"{verdict}! Task {verdict.lower()} by someone@example.com"
        invoker.send_task_success(context["Task"]["Token"], json.dumps({"Status": status}))
        await invoker.drain()
        described = invoker.describe_execution(execution)
        history = invoker.get_execution_history(execution)
    assert described.status == "SUCCEEDED"
    assert described.output is not None
    assert json.loads(described.output) == {"Status": status}
    assert state_names(history)[-1] == last_state


CALLBACK = {
    "Comment": "Starts a task and waits for its callback; a failure goes to its own state",
    "StartAt": "Start Task And Wait For Callback",
    "States": {
        "Start Task And Wait For Callback": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "StartWork",
                "Payload": {
                    "MessageTitle": "Callback task started",
                    "TaskToken.$": "$$.Task.Token",
                },
            },
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Notify Failure"}],
            "Next": "Notify Success",
        },
        "Notify Success": {
            "Type": "Task",
            "Resource": arn("Notify"),
            "Parameters": {"Message": "Callback completed", "Detail.$": "$"},
            "End": True,
        },
        "Notify Failure": {
            "Type": "Task",
            "Resource": arn("Notify"),
            "Parameters": {"Message": "Task started by Step Functions failed", "Detail.$": "$"},
            "End": True,
        },
    },
}


@pytest.mark.parametrize("succeed", [True, False])
async def test_callback_pattern_notifies_success_or_failure(succeed: bool) -> None:
    registry = faaslib.Registry()
    tokens: list[str] = []
    notices: list[dict[str, Any]] = []

    @registry.function(name="StartWork")
    async def start_work(event: dict[str, str]) -> None:
        assert event["MessageTitle"] == "Callback task started"
        tokens.append(event["TaskToken"])

    @registry.function(name="Notify")
    async def notify(event: dict[str, Any]) -> str:
        notices.append(event)
        return str(event["Message"])

    registry.state_machine("callback", CALLBACK)
    async with faaslib.Invoker(registry) as invoker:
        execution = await invoker.start_execution("callback")
        await invoker.drain()
        [token] = tokens
        if succeed:
            invoker.send_task_success(token, '{"done": true}')
        else:
            invoker.send_task_failure(token, error="WorkerGaveUp", cause="disk full")
        await invoker.drain()
        described = invoker.describe_execution(execution)
    assert described.status == "SUCCEEDED"
    [notice] = notices
    if succeed:
        assert notice == {"Message": "Callback completed", "Detail": {"done": True}}
        assert described.output == '"Callback completed"'
    else:
        assert notice == {
            "Message": "Task started by Step Functions failed",
            "Detail": {"Error": "WorkerGaveUp", "Cause": "disk full"},
        }


# -- Choice state: the guide's ChoiceStateX ------------------------------------------------------

CHOICE_STATE_X = {
    "StartAt": "ChoiceStateX",
    "States": {
        "ChoiceStateX": {
            "Type": "Choice",
            "Choices": [
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
                {
                    "And": [
                        {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                        {"Variable": "$.value", "NumericLessThan": 30},
                    ],
                    "Next": "ValueInTwenties",
                },
            ],
            "Default": "DefaultState",
        },
        "Public": {"Type": "Task", "Resource": arn("Foo"), "Next": "NextState"},
        "ValueIsZero": {"Type": "Task", "Resource": arn("Zero"), "Next": "NextState"},
        "ValueInTwenties": {"Type": "Task", "Resource": arn("Bar"), "Next": "NextState"},
        "DefaultState": {"Type": "Fail", "Cause": "No Matches!"},
        "NextState": {"Type": "Succeed"},
    },
}


def handler_named(name: str) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    async def handle(event: dict[str, Any]) -> dict[str, Any]:
        return {**event, "handledBy": name}

    return handle


@pytest.mark.parametrize(
    ("data", "handled_by"),
    [
        ({"type": "Public", "value": 22}, "Foo"),
        ({"type": "Private", "value": 0}, "Zero"),
        ({"type": "Private", "value": 22}, "Bar"),
        ({"type": "Private", "value": 29.5}, "Bar"),
    ],
)
async def test_choice_state_x_routes_by_type_and_value(
    data: dict[str, Any], handled_by: str
) -> None:
    registry = faaslib.Registry()
    for name in ("Foo", "Zero", "Bar"):
        registry.function(name=name)(handler_named(name))
    registry.state_machine("choice-x", CHOICE_STATE_X, type="EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("choice-x", data)
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    assert json.loads(result.output) == {**data, "handledBy": handled_by}


@pytest.mark.parametrize("value", [30, 19, -1])
async def test_choice_state_x_without_a_match_fails_in_the_default(value: int) -> None:
    registry = faaslib.Registry()
    registry.state_machine("choice-x", CHOICE_STATE_X, type="EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("choice-x", {"type": "Private", "value": value})
    assert (result.status, result.error, result.cause) == ("FAILED", "", "No Matches!")


def test_choice_state_x_with_a_rule_lacking_next_is_invalid() -> None:
    broken = json.loads(json.dumps(CHOICE_STATE_X))
    del broken["States"]["ChoiceStateX"]["Choices"][1]["Next"]
    locations = problem_locations(broken)
    assert any(location.startswith("/States/ChoiceStateX/Choices/1") for location in locations)
    assert "/States/ValueIsZero" in locations  # nothing reaches it now


# -- Input and output processing: the guide's examples -----------------------------------------


def hello_functions() -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function(name="HelloFunction")
    async def hello(event: dict[str, Any]) -> str:
        return f"Hello, {event['who']}!"

    return registry


TEST_INPUT = {
    "comment": "This is a test of the input and output of a Task state.",
    "details": "Default example",
    "who": "AWS Step Functions",
}


def hello_machine(**fields: Any) -> dict[str, Any]:
    task = {"Type": "Task", "Resource": arn("HelloFunction"), "End": True, **fields}
    return {"StartAt": "Hello", "States": {"Hello": task}}


@pytest.mark.parametrize(
    ("fields", "data", "expected"),
    [
        ({}, TEST_INPUT, "Hello, AWS Step Functions!"),
        ({"ResultPath": None}, TEST_INPUT, TEST_INPUT),
        (
            {"ResultPath": "$.taskresult"},
            TEST_INPUT,
            {**TEST_INPUT, "taskresult": "Hello, AWS Step Functions!"},
        ),
        (
            {"ResultPath": "$.strings.lambdaresult"},
            {**TEST_INPUT, "strings": {"string1": "foo", "string2": "bar"}},
            {
                **TEST_INPUT,
                "strings": {
                    "string1": "foo",
                    "string2": "bar",
                    "lambdaresult": "Hello, AWS Step Functions!",
                },
            },
        ),
        (
            {"InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult", "OutputPath": "$.data"},
            {
                "comment": "An input comment.",
                "data": {"val1": 23, "val2": 17},
                "extra": "foo",
                "lambda": {"who": "AWS Step Functions"},
            },
            {"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"},
        ),
    ],
)
async def test_result_path_examples_of_the_guide(
    fields: dict[str, Any], data: dict[str, Any], expected: Any
) -> None:
    registry = hello_functions()
    registry.state_machine("hello", hello_machine(**fields), type="EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("hello", data)
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    assert json.loads(result.output) == expected


async def test_input_path_and_parameters_examples_of_the_guide() -> None:
    registry = faaslib.Registry()
    registry.state_machine(
        "filters",
        {
            "StartAt": "PickDataset",
            "States": {
                "PickDataset": {
                    "Type": "Pass",
                    "InputPath": "$.dataset2",
                    "ResultPath": "$.picked",
                    "Next": "SelectDetails",
                },
                "SelectDetails": {
                    "Type": "Pass",
                    "Parameters": {
                        "comment": "Selecting what I care about.",
                        "MyDetails": {
                            "size.$": "$.product.details.size",
                            "exists.$": "$.product.availability",
                            "StaticValue": "foo",
                        },
                        "picked.$": "$.picked",
                    },
                    "End": True,
                },
            },
        },
        type="EXPRESS",
    )
    data = {
        "comment": "Example for InputPath and Parameters.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"},
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
        },
    }
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("filters", data)
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    assert json.loads(result.output) == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
        "picked": {"val1": "a", "val2": "b", "val3": "c"},
    }


async def test_result_selector_and_output_path_on_the_lambda_integration() -> None:
    """The guide's ``OutputPath: $.Payload`` and ``ResultSelector`` over the Invoke answer."""
    registry = faaslib.Registry()

    @registry.function(name="CreateCluster")
    async def create(event: dict[str, Any]) -> dict[str, Any]:
        return {"ClusterId": "j-1234", "Status": {"State": "WAITING"}, "Extra": [1, 2, 3]}

    registry.state_machine(
        "selector",
        {
            "StartAt": "Create",
            "States": {
                "Create": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "CreateCluster", "Payload.$": "$"},
                    "ResultSelector": {
                        "ClusterId.$": "$.Payload.ClusterId",
                        "ResourceType.$": "$.Payload.Status.State",
                        "StatusCode.$": "$.StatusCode",
                    },
                    "ResultPath": "$.EMROutput",
                    "Next": "Again",
                },
                "Again": lambda_task("CreateCluster", End=True),
            },
        },
        type="EXPRESS",
    )
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("selector", '{"resource": "foo"}')
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    assert json.loads(result.output) == {
        "ClusterId": "j-1234",
        "Status": {"State": "WAITING"},
        "Extra": [1, 2, 3],
    }


# -- Map state: the guide's shipping example ----------------------------------------------------

SHIPPING = {
    "StartAt": "Validate-All",
    "States": {
        "Validate-All": {
            "Type": "Map",
            "InputPath": "$.detail",
            "ItemsPath": "$.shipped",
            "MaxConcurrency": 0,
            "ItemSelector": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner"},
            "ItemProcessor": {
                "StartAt": "Validate",
                "States": {"Validate": {"Type": "Task", "Resource": arn("ship-val"), "End": True}},
            },
            "ResultPath": "$.detail.shipped",
            "End": True,
        }
    },
}

PARCELS = [
    {"prod": "R31", "dest-code": 9511, "quantity": 1344},
    {"prod": "S39", "dest-code": 9511, "quantity": 40},
    {"prod": "R31", "dest-code": 9833, "quantity": 12},
    {"prod": "R40", "dest-code": 9860, "quantity": 887},
    {"prod": "R40", "dest-code": 9511, "quantity": 1220},
]
SHIPMENT = {
    "ship-date": "2016-03-14T01:59:00Z",
    "detail": {"delivery-partner": "UQS", "shipped": PARCELS},
}


async def test_map_validates_each_parcel_with_its_courier() -> None:
    registry = faaslib.Registry()

    @registry.function(name="ship-val")
    async def validate(event: dict[str, Any]) -> dict[str, Any]:
        parcel = event["parcel"]
        return {"prod": parcel["prod"], "courier": event["courier"], "ok": parcel["quantity"] > 0}

    registry.state_machine("shipping", SHIPPING, type="EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("shipping", SHIPMENT)
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    output = json.loads(result.output)
    # ResultPath puts the results on the Map's raw input, not on its InputPath's selection.
    assert output == {
        "ship-date": "2016-03-14T01:59:00Z",
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [
                {"prod": parcel["prod"], "courier": "UQS", "ok": True} for parcel in PARCELS
            ],
        },
    }


async def test_map_history_of_the_shipping_example_after_drain() -> None:
    registry = faaslib.Registry()

    @registry.function(name="ship-val")
    async def validate(event: dict[str, Any]) -> dict[str, Any]:
        parcel = event["parcel"]
        return {"prod": parcel["prod"], "courier": event["courier"], "ok": parcel["quantity"] > 0}

    registry.state_machine("shipping", SHIPPING)
    async with faaslib.Invoker(registry) as invoker:
        execution = await invoker.start_execution("shipping", SHIPMENT)
        await invoker.drain()
        described = invoker.describe_execution(execution)
        history = invoker.get_execution_history(execution)
    assert described.status == "SUCCEEDED"
    assert described.output is not None
    output = json.loads(described.output)
    # ResultPath puts the results on the Map's raw input, not on its InputPath's selection.
    assert output["ship-date"] == "2016-03-14T01:59:00Z"
    assert output["detail"]["shipped"] == [
        {"prod": parcel["prod"], "courier": "UQS", "ok": True} for parcel in PARCELS
    ]
    types = [event["type"] for event in history]
    assert types.count("MapIterationStarted") == types.count("MapIterationSucceeded") == 5
    started = next(e for e in history if e["type"] == "MapStateStarted")
    assert started["mapStateStartedEventDetails"] == {"length": 5}


async def test_map_item_selector_context_example_of_the_guide() -> None:
    registry = faaslib.Registry()
    registry.state_machine(
        "context-values",
        {
            "StartAt": "ExampleMapState",
            "States": {
                "ExampleMapState": {
                    "Type": "Map",
                    "ItemSelector": {
                        "ContextIndex.$": "$$.Map.Item.Index",
                        "ContextValue.$": "$$.Map.Item.Value",
                    },
                    "ItemProcessor": {
                        "StartAt": "TestPass",
                        "States": {"TestPass": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        },
        type="EXPRESS",
    )
    people = [{"who": "bob"}, {"who": "meg"}, {"who": "joe"}]
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("context-values", people)
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    assert json.loads(result.output) == [
        {"ContextIndex": index, "ContextValue": person} for index, person in enumerate(people)
    ]


def test_map_whose_item_processor_state_has_no_transition_is_invalid() -> None:
    broken = json.loads(json.dumps(SHIPPING))
    del broken["States"]["Validate-All"]["ItemProcessor"]["States"]["Validate"]["End"]
    locations = problem_locations(broken)
    assert any("Validate-All/ItemProcessor/States/Validate" in loc for loc in locations)


# -- Parallel state: the specification's LookupCustomerInfo ------------------------------------

LOOKUP_CUSTOMER = {
    "StartAt": "LookupCustomerInfo",
    "States": {
        "LookupCustomerInfo": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "LookupAddress",
                    "States": {
                        "LookupAddress": {
                            "Type": "Task",
                            "Resource": arn("AddressFinder"),
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "LookupPhone",
                    "States": {
                        "LookupPhone": {
                            "Type": "Task",
                            "Resource": arn("PhoneFinder"),
                            "End": True,
                        }
                    },
                },
            ],
            "Retry": [{"ErrorEquals": ["Lookup.Unavailable"], "IntervalSeconds": 2}],
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Fallback"}
            ],
            "ResultPath": "$.found",
            "Next": "NextState",
        },
        "Fallback": {"Type": "Pass", "Next": "NextState"},
        "NextState": {"Type": "Succeed"},
    },
}


def customer_functions(
    phone_errors: list[str], machine_type: MachineType = "STANDARD"
) -> tuple[faaslib.Registry, list[str]]:
    """AddressFinder answers; PhoneFinder raises the errors named in ``phone_errors`` in turn,
    then answers. The list returned records PhoneFinder's calls."""
    registry = faaslib.Registry()
    calls: list[str] = []
    errors = list(phone_errors)

    @registry.function(name="AddressFinder")
    async def address(event: dict[str, Any]) -> dict[str, str]:
        return {"address": f"1 Main St ({event['customer']})"}

    @registry.function(name="PhoneFinder")
    async def phone(event: dict[str, Any]) -> dict[str, str]:
        calls.append(event["customer"])
        if errors:
            raise type(errors.pop(0), (Exception,), {})("phone book offline")
        return {"phone": "555-0100"}

    registry.state_machine("lookup", LOOKUP_CUSTOMER, type=machine_type)
    return registry, calls


async def test_parallel_gives_each_branchs_output_in_order() -> None:
    registry, calls = customer_functions([], "EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("lookup", {"customer": "c-42"})
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    assert json.loads(result.output) == {
        "customer": "c-42",
        "found": [{"address": "1 Main St (c-42)"}, {"phone": "555-0100"}],
    }
    assert calls == ["c-42"]


async def test_parallel_branch_error_no_retrier_takes_is_caught_at_once() -> None:
    registry, calls = customer_functions(["Lookup.NotFound"], "EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("lookup", {"customer": "c-7"})
    assert result.status == "SUCCEEDED"
    assert result.output is not None
    output = json.loads(result.output)
    assert output["customer"] == "c-7"
    assert output["failure"]["Error"] == "Lookup.NotFound"
    assert json.loads(output["failure"]["Cause"])["errorMessage"] == "phone book offline"
    assert "found" not in output
    assert calls == ["c-7"]


async def test_parallel_gives_each_branchs_output_in_order_after_a_retry() -> None:
    clock = faaslib.VirtualClock()
    registry, calls = customer_functions(["Lookup.Unavailable"])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        start = clock.time()
        execution = await invoker.start_execution("lookup", {"customer": "c-42"})
        described = await run_to_end(invoker, clock, execution)
    assert described.status == "SUCCEEDED"
    assert described.output is not None
    assert json.loads(described.output) == {
        "customer": "c-42",
        "found": [{"address": "1 Main St (c-42)"}, {"phone": "555-0100"}],
    }
    assert calls == ["c-42", "c-42"]
    assert clock.time() - start == 2  # the whole Parallel state reran after its backoff


async def test_parallel_whose_branch_keeps_failing_is_caught_after_the_retries() -> None:
    clock = faaslib.VirtualClock()
    registry, calls = customer_functions(["Lookup.Unavailable"] * 9)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        start = clock.time()
        execution = await invoker.start_execution("lookup", {"customer": "c-7"})
        described = await run_to_end(invoker, clock, execution)
    assert described.status == "SUCCEEDED"
    assert described.output is not None
    output = json.loads(described.output)
    assert output["failure"]["Error"] == "Lookup.Unavailable"
    assert "found" not in output
    assert len(calls) == 4  # a try and MaxAttempts (3) retries
    assert clock.time() - start == 2 + 4 + 8


# -- The specification's own examples: Parameters with paths, Choice with path comparisons ------


async def test_specification_parameters_example_with_a_slice() -> None:
    registry = faaslib.Registry()

    @registry.function(name="X")
    async def x(event: dict[str, Any]) -> dict[str, Any]:
        return event

    registry.state_machine(
        "parameters",
        {
            "StartAt": "X",
            "States": {
                "X": {
                    "Type": "Task",
                    "Resource": arn("X"),
                    "Parameters": {
                        "flagged": True,
                        "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"},
                        "execution.$": "$$.Execution.Name",
                    },
                    "End": True,
                }
            },
        },
        type="EXPRESS",
    )
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution(
            "parameters", {"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]}, execution_name="run-1"
        )
    assert result.status == "SUCCEEDED", result.cause
    assert result.output is not None
    assert json.loads(result.output) == {
        "flagged": True,
        "parts": {"first": 0, "last3": [30, 40, 50]},
        "execution": "run-1",
    }


AUDIT = {
    "StartAt": "CheckRating",
    "States": {
        "CheckRating": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.rating",
                    "NumericGreaterThanPath": "$.auditThreshold",
                    "Next": "StartAudit",
                },
                {
                    "And": [
                        {"Variable": "$.reviewedAt", "IsPresent": True},
                        {"Variable": "$.reviewedAt", "TimestampLessThan": "2016-03-14T01:59:00Z"},
                    ],
                    "Next": "Stale",
                },
            ],
            "Default": "Fine",
        },
        "StartAudit": {"Type": "Pass", "Result": "audit", "End": True},
        "Stale": {"Type": "Pass", "Result": "stale", "End": True},
        "Fine": {"Type": "Pass", "Result": "fine", "End": True},
    },
}


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        ({"rating": 53, "auditThreshold": 60}, "fine"),
        ({"rating": 61, "auditThreshold": 60}, "audit"),
        ({"rating": 60, "auditThreshold": 60, "reviewedAt": "2016-03-13T23:00:00Z"}, "stale"),
        ({"rating": 60, "auditThreshold": 60, "reviewedAt": "2016-03-14T02:00:00Z"}, "fine"),
    ],
)
async def test_specification_choice_with_path_and_timestamp_comparisons(
    data: dict[str, Any], verdict: str
) -> None:
    registry = faaslib.Registry()
    registry.state_machine("audit", AUDIT, type="EXPRESS")
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("audit", data)
    assert (result.status, result.output) == ("SUCCEEDED", json.dumps(verdict))


async def test_map_with_the_older_iterator_and_parameters_fields() -> None:
    """Before ItemProcessor and ItemSelector, the guide's Map examples used ``Iterator`` and
    ``Parameters``: still accepted, with the same meaning."""
    registry = faaslib.Registry()

    @registry.function(name="Greet")
    async def greet(event: dict[str, Any]) -> str:
        return f"{event['index']}: hello {event['who']}"

    registry.state_machine(
        "legacy-map",
        {
            "StartAt": "Greet each",
            "States": {
                "Greet each": {
                    "Type": "Map",
                    "ItemsPath": "$.people",
                    "Parameters": {
                        "index.$": "$$.Map.Item.Index",
                        "who.$": "$$.Map.Item.Value.who",
                    },
                    "Iterator": {
                        "StartAt": "Greet",
                        "States": {
                            "Greet": {"Type": "Task", "Resource": arn("Greet"), "End": True}
                        },
                    },
                    "ResultPath": "$.greetings",
                    "End": True,
                }
            },
        },
        type="EXPRESS",
    )
    people = [{"who": "bob"}, {"who": "meg"}]
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("legacy-map", {"people": people})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output is not None
    assert json.loads(result.output) == {
        "people": people,
        "greetings": ["0: hello bob", "1: hello meg"],
    }


# -- The console's Hello World starter: Pass, Choice, Wait, Parallel ----------------------------

HELLO_WORLD = {
    "Comment": "A Hello World example showing Pass, Choice, Wait and Parallel states",
    "StartAt": "Pass",
    "States": {
        "Pass": {
            "Type": "Pass",
            "Result": {"IsHelloWorldExample": True},
            "Next": "Hello World example?",
        },
        "Hello World example?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.IsHelloWorldExample", "BooleanEquals": True, "Next": "Yes"},
                {"Variable": "$.IsHelloWorldExample", "BooleanEquals": False, "Next": "No"},
            ],
            "Default": "Yes",
        },
        "Yes": {"Type": "Pass", "Next": "Wait 3 sec"},
        "No": {"Type": "Fail", "Cause": "Not Hello World"},
        "Wait 3 sec": {"Type": "Wait", "Seconds": 3, "Next": "Parallel State"},
        "Parallel State": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": True}}},
                {"StartAt": "World", "States": {"World": {"Type": "Pass", "End": True}}},
            ],
            "Next": "Hello World",
        },
        "Hello World": {"Type": "Pass", "End": True},
    },
}


async def test_hello_world_starter_waits_three_seconds_on_the_clock() -> None:
    clock = faaslib.VirtualClock()
    registry = faaslib.Registry()
    registry.state_machine("hello-world", HELLO_WORLD)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        start = clock.time()
        execution = await invoker.start_execution("hello-world", '{"any": 1}')
        await invoker.drain()
        waiting = invoker.describe_execution(execution)
        so_far = invoker.get_execution_history(execution)
        clock.advance(3)
        await invoker.drain()
        described = invoker.describe_execution(execution)
        history = invoker.get_execution_history(execution)
    assert waiting.status == "RUNNING"
    assert state_names(so_far)[-1] == "Wait 3 sec"
    assert so_far[-1]["type"] == "WaitStateEntered"
    assert described.status == "SUCCEEDED"
    assert described.output == '[{"IsHelloWorldExample":true},{"IsHelloWorldExample":true}]'
    assert described.stop_date is not None
    assert (described.stop_date - described.start_date).total_seconds() == pytest.approx(3)
    assert clock.time() - start == 3
    assert sorted(state_names(history)) == sorted(
        ["Pass", "Hello World example?", "Yes", "Wait 3 sec", "Parallel State", "Hello", "World"]
        + ["Hello World"]
    )


def test_hello_world_with_a_parallel_branch_ending_nowhere_is_invalid() -> None:
    broken = json.loads(json.dumps(HELLO_WORLD))
    broken["States"]["Parallel State"]["Branches"][1]["States"]["World"] = {
        "Type": "Pass",
        "Next": "Hello World",  # a state of the machine, not of the branch
    }
    locations = problem_locations(broken)
    assert any(loc.startswith("/States/Parallel State/Branches/1") for loc in locations)


# -- Wait, Fail and intrinsic functions: the guide's examples -----------------------------------


async def test_wait_examples_of_the_guide_on_a_virtual_clock() -> None:
    clock = faaslib.VirtualClock(start=1_457_917_140.0)  # 2016-03-14T00:59:00Z
    registry = faaslib.Registry()
    seen: list[float] = []

    @registry.function(name="Stamp")
    async def stamp(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(clock.time())
        return event

    registry.state_machine(
        "waits",
        {
            "StartAt": "wait_ten_seconds",
            "States": {
                "wait_ten_seconds": {"Type": "Wait", "Seconds": 10, "Next": "stamp1"},
                "stamp1": {"Type": "Task", "Resource": arn("Stamp"), "Next": "wait_seconds_path"},
                "wait_seconds_path": {
                    "Type": "Wait",
                    "SecondsPath": "$.expiryseconds",
                    "Next": "stamp2",
                },
                "stamp2": {"Type": "Task", "Resource": arn("Stamp"), "Next": "wait_until"},
                "wait_until": {
                    "Type": "Wait",
                    "Timestamp": "2016-03-14T01:59:00Z",
                    "Next": "stamp3",
                },
                "stamp3": {"Type": "Task", "Resource": arn("Stamp"), "Next": "wait_expiry"},
                "wait_expiry": {
                    "Type": "Wait",
                    "TimestampPath": "$.expirydate",
                    "Next": "stamp4",
                },
                "stamp4": {"Type": "Task", "Resource": arn("Stamp"), "End": True},
            },
        },
    )
    data = {"expiryseconds": 3590, "expirydate": "2016-03-15T01:59:00Z"}
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        execution = await invoker.start_execution("waits", data)
        described = await run_to_end(invoker, clock, execution)
    assert described.status == "SUCCEEDED"
    start = 1_457_917_140.0
    assert [t - start for t in seen] == [10, 3600, 3600, 3600 + 86_400]


async def test_fail_state_with_cause_path_from_an_intrinsic() -> None:
    registry = faaslib.Registry()
    registry.state_machine(
        "fail-paths",
        {
            "StartAt": "FailState",
            "States": {
                "FailState": {
                    "Type": "Fail",
                    "ErrorPath": "$.Error",
                    "CausePath": "States.Format('This is a custom error message for {}, caused by "
                    "{}.', $.Error, $.Cause)",
                }
            },
        },
        type="EXPRESS",
    )
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution(
            "fail-paths", {"Error": "ErrorA", "Cause": "Kaiju attack"}
        )
    assert result.status == "FAILED"
    assert result.error == "ErrorA"
    assert result.cause == "This is a custom error message for ErrorA, caused by Kaiju attack."


async def test_intrinsic_function_examples_of_the_guide() -> None:
    registry = faaslib.Registry()

    @registry.function(name="Echo")
    async def echo(event: dict[str, Any]) -> dict[str, Any]:
        return event

    registry.state_machine(
        "intrinsics",
        {
            "StartAt": "Compute",
            "States": {
                "Compute": lambda_task(
                    "Echo",
                    Parameters={
                        "FunctionName": "Echo",
                        "Payload": {
                            "greeting.$": "States.Format('Hello, my name is {}.', $.name)",
                            "parsed.$": "States.StringToJson($.escapedJsonString)",
                            "partitioned.$": "States.ArrayPartition($.inputArray, 4)",
                            "range.$": "States.ArrayRange(1, 9, 2)",
                            "item.$": "States.ArrayGetItem($.inputArray, $.index)",
                            "length.$": "States.ArrayLength($.inputArray)",
                            "unique.$": "States.ArrayUnique($.withDuplicates)",
                            "contains.$": "States.ArrayContains($.inputArray, $.lookingFor)",
                            "encoded.$": "States.Base64Encode($.input)",
                            "hashed.$": "States.Hash($.Data, $.Algorithm)",
                            "merged.$": "States.JsonMerge($.json1, $.json2, false)",
                            "sum.$": "States.MathAdd($.value1, $.step)",
                            "split.$": "States.StringSplit($.inputString, $.splitter)",
                        },
                    },
                    End=True,
                ),
            },
        },
        type="EXPRESS",
    )
    data = {
        "name": "Arnav",
        "escapedJsonString": '{"foo": "bar"}',
        "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        "index": 5,
        "withDuplicates": [1, 2, 3, 3, 3, 3, 3, 3, 4],
        "lookingFor": 5,
        "input": "Data to encode",
        "Data": "input data",
        "Algorithm": "SHA-1",
        "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
        "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
        "value1": 111,
        "step": -1,
        "inputString": "This.is+a,test=string",
        "splitter": ".+,=",
    }
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.start_sync_execution("intrinsics", data)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output is not None
    assert json.loads(result.output) == {
        "greeting": "Hello, my name is Arnav.",
        "parsed": {"foo": "bar"},
        "partitioned": [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
        "range": [1, 3, 5, 7, 9],
        "item": 6,
        "length": 9,
        "unique": [1, 2, 3, 4],
        "contains": True,
        "encoded": "RGF0YSB0byBlbmNvZGU=",
        "hashed": "aaff4a450a104cd177d28d18d74485e8cae074b7",
        "merged": {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3},
        "sum": 110,
        "split": ["This", "is", "a", "test", "string"],
    }


# -- Every sample above is a valid definition -----------------------------------------------------


@pytest.mark.parametrize(
    "definition",
    [
        CATCH_TUTORIAL,
        JOB_POLLER,
        TRANSFER_RECORDS,
        ITERATE_LOOP,
        HUMAN_APPROVAL,
        CALLBACK,
        CHOICE_STATE_X,
        SHIPPING,
        LOOKUP_CUSTOMER,
        AUDIT,
        HELLO_WORLD,
    ],
    ids=[
        "catch",
        "job-poller",
        "transfer",
        "iterate",
        "approval",
        "callback",
        "choice-x",
        "shipping",
        "lookup",
        "audit",
        "hello-world",
    ],
)
def test_each_sample_parses_as_json_text_too(definition: dict[str, Any]) -> None:
    parsed = parse_definition(json.dumps(definition, indent=2))
    assert parsed.start_at == definition["StartAt"]
    assert set(parsed.states) == set(definition["States"])
