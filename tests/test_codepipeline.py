"""CodePipeline: a pipeline invokes its Lambda invoke actions (Event) with the
``CodePipeline.job`` event and waits for the job result the function reports."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest
from aws_lambda_powertools.utilities.data_classes import CodePipelineJobEvent

import faaslib
from faaslib._services.codepipeline import (
    InvalidJobStateException,
    JobNotFoundException,
    LambdaInvoke,
    Pipeline,
    Stage,
    codepipeline_job,
)

T0 = 1_800_000_000.0


def worker_registry(pipeline: Pipeline, jobs: list[dict[str, Any]]) -> faaslib.Registry:
    """Job workers reading the event with Powertools and reporting on ``pipeline``.

    ``worker``: its UserParameters (JSON) say what to do: ``fail`` (a message), ``continue``
    (how many continuation rounds before success), ``silent`` (report nothing), ``crash``.
    """
    registry = faaslib.Registry()

    @registry.function(name="worker")
    def worker(event: dict[str, Any]) -> None:
        jobs.append(event)
        job = CodePipelineJobEvent(event)
        params = job.decoded_user_parameters
        if params.get("crash"):
            raise RuntimeError("boom")
        if params.get("silent"):
            return
        if "fail" in params:
            pipeline.put_job_failure_result(
                jobId=job.get_id,
                failureDetails={"type": "JobFailed", "message": params["fail"]},
            )
            return
        rounds = int(job.data.continuation_token or 0)
        if rounds < params.get("continue", 0):
            pipeline.put_job_success_result(
                jobId=job.get_id,
                continuationToken=str(rounds + 1),
                executionDetails={"summary": f"round {rounds}", "percentComplete": 50},
            )
            return
        pipeline.put_job_success_result(
            jobId=job.get_id,
            executionDetails={"summary": "done", "externalExecutionId": "ext-1"},
            outputVariables={"Rounds": str(rounds)},
        )

    @registry.function(name="async-worker")
    async def async_worker(event: dict[str, Any]) -> None:
        jobs.append(event)
        await anyio.lowlevel.checkpoint()
        pipeline.put_job_success_result(jobId=event["CodePipeline.job"]["id"])

    return registry


async def invoked(invoker: faaslib.Invoker, jobs: list[dict[str, Any]], count: int) -> None:
    """Wait until the workers have received ``count`` jobs, and have run."""
    while len(jobs) < count:
        await anyio.lowlevel.checkpoint()
        await invoker.drain()


def pipeline_of(*stages: Stage, **options: Any) -> Pipeline:
    return Pipeline("release", stages, **options)


async def test_a_stage_of_actions_succeeds_and_the_event_is_codepipelines() -> None:
    jobs: list[dict[str, Any]] = []
    pipeline = pipeline_of(
        Stage(
            "Build",
            [
                LambdaInvoke(
                    "Compile", "worker", "{}", output_artifacts=["BuildOutput"], run_order=1
                ),
                LambdaInvoke("Lint", "async-worker", run_order=1),
            ],
        ),
        Stage("Deploy", [LambdaInvoke("Ship", "worker", '{"x": 1}', ["BuildOutput"])]),
        artifact_bucket="my-artifacts",
        encryption_key="arn:aws:kms:us-east-1:123456789012:key/k-1",
    )
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(worker_registry(pipeline, jobs), clock=clock) as invoker:
        execution = await pipeline.run(invoker)
    assert execution.status == "Succeeded"
    assert execution.stages == {"Build": "Succeeded", "Deploy": "Succeeded"}
    assert [(a.stage, a.action, a.status) for a in execution.actions] == [
        ("Build", "Compile", "Succeeded"),
        ("Build", "Lint", "Succeeded"),
        ("Deploy", "Ship", "Succeeded"),
    ]
    assert execution.action("Ship").summary == "done"
    assert execution.action("Ship", "Deploy").output_variables == {"Rounds": "0"}
    by_user_parameters = {CodePipelineJobEvent(j).user_parameters: j for j in jobs}
    assert set(by_user_parameters) == {"{}", None, '{"x": 1}'}  # None: Lint has none
    compile_job, ship_job = by_user_parameters["{}"], by_user_parameters['{"x": 1}']
    lint = CodePipelineJobEvent(by_user_parameters[None])
    assert lint.data.action_configuration.configuration.function_name == "async-worker"
    for event in jobs:
        job = CodePipelineJobEvent(event)
        assert list(event) == ["CodePipeline.job"]
        assert list(event["CodePipeline.job"]) == ["id", "accountId", "data"]
        assert job.account_id == "123456789012"
        assert job.data.continuation_token is None
        assert job.data.artifact_credentials.access_key_id.startswith("ASIA")
        assert job.data.encryption_key is not None
        assert job.data.encryption_key.get_type == "KMS"
    written = CodePipelineJobEvent(compile_job).find_output_artifact("BuildOutput")
    read = CodePipelineJobEvent(ship_job).find_input_artifact("BuildOutput")
    assert written is not None
    assert read is not None
    assert written.location.s3_location.bucket_name == "my-artifacts"
    assert read.raw_event == written.raw_event  # the next stage reads what Compile wrote
    assert read.location.s3_location.key.startswith("release/BuildOutput/")
    assert CodePipelineJobEvent(ship_job).decoded_user_parameters == {"x": 1}
    assert len({j["CodePipeline.job"]["id"] for j in jobs}) == 3


async def test_continuation_tokens_run_the_action_again_as_new_jobs() -> None:
    jobs: list[dict[str, Any]] = []
    pipeline = pipeline_of(Stage("Deploy", [LambdaInvoke("Roll", "worker", '{"continue": 2}')]))
    async with faaslib.Invoker(worker_registry(pipeline, jobs)) as invoker:
        execution = await pipeline.run(invoker)
    assert execution.status == "Succeeded"
    tokens = [CodePipelineJobEvent(j).data.continuation_token for j in jobs]
    assert tokens == [None, "1", "2"]
    action = execution.action("Roll")
    assert action.job_ids == [j["CodePipeline.job"]["id"] for j in jobs]
    assert action.output_variables == {"Rounds": "2"}
    assert action.external_execution_id == "ext-1"


async def test_a_failure_fails_the_stage_and_the_later_stages_do_not_run() -> None:
    jobs: list[dict[str, Any]] = []
    pipeline = pipeline_of(
        Stage(
            "Test",
            [
                LambdaInvoke("Unit", "worker", '{"fail": "3 tests failed"}'),
                LambdaInvoke("Lint", "worker", "{}"),
                LambdaInvoke("Later", "worker", "{}", run_order=2),
            ],
        ),
        Stage("Deploy", [LambdaInvoke("Ship", "worker", "{}")]),
    )
    async with faaslib.Invoker(worker_registry(pipeline, jobs)) as invoker:
        execution = await pipeline.run(invoker)
    assert execution.status == "Failed"
    assert execution.stages == {"Test": "Failed"}
    assert [(a.action, a.status) for a in execution.actions] == [
        ("Unit", "Failed"),
        ("Lint", "Succeeded"),  # its run order's actions finish
    ]
    assert execution.action("Unit").error == {"code": "JobFailed", "message": "3 tests failed"}
    assert len(jobs) == 2


async def test_no_result_within_the_action_timeout_fails_the_action() -> None:
    jobs: list[dict[str, Any]] = []
    clock = faaslib.VirtualClock(T0)
    pipeline = pipeline_of(Stage("Deploy", [LambdaInvoke("Wait", "worker", '{"silent": 1}')]))
    quick = Pipeline(
        "quick", [Stage("S", [LambdaInvoke("Crash", "worker", '{"crash": 1}')])], timeout=600
    )
    results: list[Any] = []
    async with faaslib.Invoker(worker_registry(pipeline, jobs), clock=clock) as invoker:

        async def run(p: Pipeline) -> None:
            results.append(await p.run(invoker))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, pipeline)
            await invoked(invoker, jobs, 1)
            clock.advance(3599)
            await invoker.drain()
            assert not results
            clock.advance(1)  # CodePipeline's hour
        [execution] = results
        assert execution.status == "Failed"
        error = execution.action("Wait").error
        assert error is not None
        assert "3600" in error["message"]
        job_id = execution.action("Wait").job_ids[0]
        with pytest.raises(InvalidJobStateException):  # too late: the action has failed
            pipeline.put_job_success_result(jobId=job_id)

        async with anyio.create_task_group() as tg:  # a crashing worker: Lambda retries it,
            tg.start_soon(run, quick)  # then nothing reports, on the pipeline's clock
            await invoked(invoker, jobs, 2)
            clock.advance(60)
            await invoked(invoker, jobs, 3)
            clock.advance(120)
            await invoked(invoker, jobs, 4)
            clock.advance(419)
            await invoker.drain()
            assert len(results) == 1
            clock.advance(1)
    assert results[1].status == "Failed"
    assert sum(1 for j in jobs if "crash" in str(j)) == 3  # the first attempt and 2 retries


async def test_job_calls_check_their_input_as_codepipeline_does() -> None:
    pipeline = pipeline_of(Stage("S", [LambdaInvoke("A", "worker")]))
    with pytest.raises(faaslib.ValidationException, match="jobId"):
        pipeline.put_job_success_result(jobId="not-a-job")
    with pytest.raises(JobNotFoundException, match="cannot be found"):
        pipeline.put_job_success_result(jobId="11111111-2222-3333-4444-555555555555")
    job = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(faaslib.ValidationException, match="failureDetails.type"):
        pipeline.put_job_failure_result(jobId=job, failureDetails={"type": "Oops", "message": "x"})
    with pytest.raises(faaslib.ValidationException, match="failureDetails.message"):
        pipeline.put_job_failure_result(jobId=job, failureDetails={"type": "JobFailed"})
    with pytest.raises(faaslib.ValidationException, match="continuationToken"):
        pipeline.put_job_success_result(jobId=job, continuationToken="")
    with pytest.raises(faaslib.ValidationException, match="percentComplete"):
        pipeline.put_job_success_result(jobId=job, executionDetails={"percentComplete": 101})
    with pytest.raises(faaslib.ValidationException, match="outputVariables"):
        pipeline.put_job_success_result(jobId=job, outputVariables={"bad key": "v"})
    with pytest.raises(faaslib.ValidationException, match="stageName"):
        Stage("bad name", [LambdaInvoke("A", "worker")])
    with pytest.raises(faaslib.InvalidParameterValueException, match="two actions of one name"):
        pipeline_of(Stage("S", [LambdaInvoke("A", "w"), LambdaInvoke("A", "w")]))
    with pytest.raises(faaslib.InvalidParameterValueException, match="at most 5"):
        LambdaInvoke("A", "w", input_artifacts=[f"a{i}" for i in range(6)])


async def test_it_invokes_as_its_service_role_and_an_unknown_function_fails_the_action() -> None:
    jobs: list[dict[str, Any]] = []
    pipeline = pipeline_of(Stage("S", [LambdaInvoke("A", "worker", "{}")]))
    missing = Pipeline("other", [Stage("S", [LambdaInvoke("A", "nope")])])
    registry = worker_registry(pipeline, jobs)
    invoker = faaslib.Invoker(
        registry, region="eu-west-1", account_id="111122223333", check_permissions=True
    )
    async with invoker:
        assert (await pipeline.run(invoker)).status == "Succeeded"  # its account's role
        failed = await missing.run(invoker)
    assert pipeline.arn == "arn:aws:codepipeline:eu-west-1:111122223333:release"
    assert pipeline.role_arn == (
        "arn:aws:iam::111122223333:role/service-role/AWSCodePipelineServiceRole-eu-west-1-release"
    )
    assert pipeline.artifact_bucket.startswith("codepipeline-eu-west-1-")
    assert CodePipelineJobEvent(jobs[0]).account_id == "111122223333"
    assert failed.status == "Failed"
    error = failed.action("A").error
    assert error is not None
    assert error["message"].startswith("ResourceNotFoundException")


def test_the_event_factory_writes_codepipelines_job() -> None:
    event = codepipeline_job("fn", '{"k": "v"}', continuation_token="t")
    job = CodePipelineJobEvent(event)
    assert job.decoded_user_parameters == {"k": "v"}
    assert job.data.continuation_token == "t"
    assert job.data.input_artifacts == []
    assert job.data.encryption_key is None
    bare = codepipeline_job()
    assert (
        "UserParameters"
        not in bare["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]
    )
