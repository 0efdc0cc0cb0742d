"""AWS CodePipeline: ``Pipeline``, stages of Lambda invoke actions run as CodePipeline runs
them, and the job results a function reports with ``put_job_success_result`` or
``put_job_failure_result``, under the keyword names of boto3's ``codepipeline`` client.

CodePipeline invokes an action's function asynchronously (invocation type Event) with a
``CodePipeline.job`` event, then waits for the function to report the job's result: none
within the action's timeout (an hour) fails the action. A success carrying a
``continuationToken`` runs the action again as a new job with that token in its data.
"""

from __future__ import annotations

import math
import re
import secrets
import string
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio
from anyio import CancelScope

from .._errors import FaaslibError, InvalidParameterValueException, ValidationException
from .._site import FollowsSite
from .._wakeup import Waker, waker

if TYPE_CHECKING:
    from .._clock import Clock
    from .._triggers import Invokes as Invoker

__all__ = [
    "ActionExecution",
    "CodePipelineError",
    "InvalidJobStateException",
    "JobNotFoundException",
    "LambdaInvoke",
    "Pipeline",
    "PipelineExecution",
    "Stage",
    "codepipeline_job",
]

#: How long CodePipeline waits for a Lambda invoke action's job result.
DEFAULT_TIMEOUT = 3600
Status = Literal["InProgress", "Succeeded", "Failed"]
FAILURE_TYPES = (
    "JobFailed",
    "ConfigurationError",
    "PermissionError",
    "RevisionOutOfSync",
    "RevisionUnavailable",
    "SystemUnavailable",
)
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NAME = re.compile(r"[A-Za-z0-9.@\-_]{1,100}")
_VARIABLE = re.compile(r"[A-Za-z0-9@\-_]+")
_KEY_CHARS = string.ascii_letters + string.digits


class CodePipelineError(FaaslibError):
    """Root of the errors a :class:`Pipeline`'s job calls raise, named as CodePipeline's API
    names them (HTTP 400); the call changed nothing."""

    error_type = "CodePipelineError"
    message_member = "message"
    status_code = 400
    fault = "User"


class JobNotFoundException(CodePipelineError, LookupError):
    """No job of the pipeline has that id."""

    error_type = "JobNotFoundException"


class InvalidJobStateException(CodePipelineError):
    """The job already has its result (it succeeded, failed or timed out)."""

    error_type = "InvalidJobStateException"


@dataclass(frozen=True)
class LambdaInvoke:
    """A Lambda invoke action (category Invoke, provider Lambda).

    :param name: the action's name, unique in the pipeline
    :param function: ``FunctionName``: the function's name, ``name:alias`` or ARN
    :param user_parameters: ``UserParameters``, a string handed to the function as is
    :param input_artifacts: names of artifacts it reads (0-5); one no earlier action writes
        stands for a source action's output (faaslib runs no source actions)
    :param output_artifacts: names of artifacts it writes (0-5), each new in the pipeline
    :param run_order: actions of a stage run by ascending run order, equal ones in parallel
    """

    name: str
    function: str
    user_parameters: str | None = None
    input_artifacts: Sequence[str] = ()
    output_artifacts: Sequence[str] = ()
    run_order: int = 1

    def __post_init__(self) -> None:
        _check_name("actionName", self.name)
        if not isinstance(self.function, str) or not self.function:
            raise ValidationException("FunctionName", self.function, "Member must not be empty")
        for kind in ("input_artifacts", "output_artifacts"):
            names = getattr(self, kind)
            names = (names,) if isinstance(names, str) else tuple(names)
            if len(names) > 5:
                raise InvalidParameterValueException(
                    f"Action {self.name} has {len(names)} {kind.replace('_', ' ')}: at most 5"
                )
            for name in names:
                _check_name("artifactName", name)
            object.__setattr__(self, kind, names)
        if isinstance(self.run_order, bool) or self.run_order not in range(1, 1000):
            raise ValidationException(
                "runOrder", self.run_order, "Member must be a whole number from 1 to 999"
            )


@dataclass(frozen=True)
class Stage:
    """A stage of the pipeline: its actions (1-50)."""

    name: str
    actions: Sequence[LambdaInvoke]

    def __post_init__(self) -> None:
        _check_name("stageName", self.name)
        actions = tuple(self.actions)
        if not 1 <= len(actions) <= 50 or not all(isinstance(a, LambdaInvoke) for a in actions):
            raise InvalidParameterValueException(
                f"Stage {self.name} needs 1 to 50 actions, each a LambdaInvoke"
            )
        object.__setattr__(self, "actions", actions)


@dataclass
class ActionExecution:
    """One action of an execution: its status, its jobs' ids (one per continuation) and what
    the last job reported (``error`` as GetPipelineState's ``errorDetails``)."""

    stage: str
    action: str
    status: Status = "InProgress"
    job_ids: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None
    summary: str | None = None
    external_execution_id: str | None = None
    output_variables: dict[str, str] = field(default_factory=dict)
    current_revision: dict[str, Any] | None = None


@dataclass
class PipelineExecution:
    """A run of the pipeline (GetPipelineExecution's ``status``, and each action's)."""

    pipeline_execution_id: str
    status: Status = "InProgress"
    stages: dict[str, Status] = field(default_factory=dict)
    actions: list[ActionExecution] = field(default_factory=list)

    def action(self, name: str, stage: str | None = None) -> ActionExecution:
        """The action of that name (in ``stage``, when two stages have one).

        :raises KeyError: the execution ran no such action
        """
        for action in self.actions:
            if action.action == name and stage in (None, action.stage):
                return action
        raise KeyError(name)


@dataclass(eq=False)
class _Job:
    """A job awaiting its result (reported from any thread: a sync handler's worker)."""

    id: str
    result: tuple[str, dict[str, Any]] | None = None
    wake: Waker | None = None


class Pipeline(FollowsSite):
    """A pipeline of Lambda invoke actions: ``await pipeline.run(invoker)`` runs its stages in
    order and returns the :class:`PipelineExecution`.

    Each action's function is invoked with invocation type Event, as the pipeline's service
    role (``role_arn``; CodePipeline invokes with its role's ``lambda:InvokeFunction``, so a
    function of the pipeline's account needs no policy statement), with the
    ``CodePipeline.job`` event. Handler code reports the job's result on this object with
    :meth:`put_job_success_result` or :meth:`put_job_failure_result`, as it would on boto3's
    ``codepipeline`` client. No result within ``timeout`` seconds (on the pipeline's clock)
    fails the action; a failed action fails its stage and the execution once the actions of
    its run order are done. The site (region, account, clock) not given is the first
    invoker's that runs the pipeline.

    :param stages: the stages, each a :class:`Stage` of :class:`LambdaInvoke` actions
    :param artifact_bucket: the S3 artifact store named in the jobs' artifact locations
        (default ``codepipeline-<region>-<12 digits>``)
    :param encryption_key: a KMS key ARN the artifacts are encrypted with (``encryptionKey``)
    """

    def __init__(
        self,
        name: str,
        stages: Sequence[Stage],
        *,
        artifact_bucket: str | None = None,
        encryption_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        role_arn: str | None = None,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        _check_name("name", name)
        stages = tuple(stages)
        if not stages:
            raise InvalidParameterValueException("A pipeline needs at least one stage")
        _check_layout(stages)
        if isinstance(timeout, bool) or not (0 < timeout < math.inf):
            raise InvalidParameterValueException(f"timeout must be positive seconds: {timeout!r}")
        self._settle(region, account_id, clock)
        self.name = name
        self.stages = stages
        self.timeout = float(timeout)
        self._bucket = artifact_bucket or (
            "codepipeline-{region}-" + "".join(secrets.choice(string.digits) for _ in range(12))
        )
        self._role = role_arn
        self._encryption_key = encryption_key
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self.executions: list[PipelineExecution] = []

    @property
    def arn(self) -> str:
        return f"arn:aws:codepipeline:{self.region}:{self.account_id}:{self.name}"

    @property
    def role_arn(self) -> str:
        """The service role CodePipeline acts as (the console's name for it by default)."""
        return self._role or (
            f"arn:aws:iam::{self.account_id}:role/service-role/"
            f"AWSCodePipelineServiceRole-{self.region}-{self.name}"
        )

    @property
    def artifact_bucket(self) -> str:
        return self._bucket.format(region=self.region)

    # -- running -------------------------------------------------------------------------------

    async def run(self, invoker: Invoker) -> PipelineExecution:
        """Run every stage in order (StartPipelineExecution); return the finished execution:
        ``Succeeded``, or ``Failed`` at the first stage with a failed action (the later
        stages do not run)."""
        self.follow(invoker.site)
        execution = PipelineExecution(str(uuid.uuid4()))
        self.executions.append(execution)
        artifacts: dict[str, dict[str, Any]] = {}
        for stage in self.stages:
            execution.stages[stage.name] = "InProgress"
            status = await self._run_stage(invoker, stage, execution, artifacts)
            execution.stages[stage.name] = status
            if status == "Failed":
                execution.status = "Failed"
                return execution
        execution.status = "Succeeded"
        return execution

    async def _run_stage(
        self,
        invoker: Invoker,
        stage: Stage,
        execution: PipelineExecution,
        artifacts: dict[str, dict[str, Any]],
    ) -> Status:
        for order in sorted({a.run_order for a in stage.actions}):
            group = [a for a in stage.actions if a.run_order == order]
            records = [ActionExecution(stage.name, a.name) for a in group]
            execution.actions.extend(records)
            async with anyio.create_task_group() as tg:
                for action, record in zip(group, records, strict=True):
                    tg.start_soon(self._run_action, invoker, action, record, artifacts)
            if any(r.status == "Failed" for r in records):
                return "Failed"
        return "Succeeded"

    async def _run_action(
        self,
        invoker: Invoker,
        action: LambdaInvoke,
        record: ActionExecution,
        artifacts: dict[str, dict[str, Any]],
    ) -> None:
        inputs = [self._artifact(name, artifacts) for name in action.input_artifacts]
        outputs = [self._artifact(name, artifacts, new=True) for name in action.output_artifacts]
        token: str | None = None
        while True:
            job = _Job(str(uuid.uuid4()))
            record.job_ids.append(job.id)
            event = codepipeline_job(
                action.function,
                action.user_parameters,
                job_id=job.id,
                account_id=self.account_id,
                input_artifacts=inputs,
                output_artifacts=outputs,
                continuation_token=token,
                encryption_key=self._encryption_key,
            )
            with self._lock:
                self._jobs[job.id] = job
            try:
                await invoker.invoke(action.function, event, "Event", principal=self.role_arn)
            except FaaslibError as exc:
                self._close(job)
                record.status = "Failed"
                record.error = {"code": "JobFailed", "message": f"{exc.error_type}: {exc.message}"}
                return
            result = await self._wait(job, self.clock.time() + self.timeout)
            token = self._take(record, result)
            if token is None:
                return

    def _take(
        self, record: ActionExecution, result: tuple[str, dict[str, Any]] | None
    ) -> str | None:
        """Record a job's result on its action; the continuation token, when it asks for
        another job."""
        if result is None:
            record.status = "Failed"
            record.error = {
                "code": "JobFailed",
                "message": f"The action timed out: no job result within {self.timeout:g} seconds",
            }
            return None
        kind, details = result
        if kind == "failure":
            record.status = "Failed"
            record.error = {"code": details["type"], "message": details["message"]}
            record.external_execution_id = details.get("externalExecutionId")
            return None
        executed = details.get("executionDetails") or {}
        record.summary = executed.get("summary", record.summary)
        record.external_execution_id = executed.get("externalExecutionId")
        record.output_variables.update(details.get("outputVariables") or {})
        record.current_revision = details.get("currentRevision") or record.current_revision
        token = details.get("continuationToken")
        if token is None:
            record.status = "Succeeded"
        return token

    def _artifact(
        self, name: str, artifacts: dict[str, dict[str, Any]], *, new: bool = False
    ) -> dict[str, Any]:
        """An artifact as a job names it: its S3 location in the artifact store (an input
        no earlier action wrote is taken as a source stage's)."""
        if new or name not in artifacts:
            suffix = "".join(secrets.choice(_KEY_CHARS) for _ in range(7))
            key = f"{self.name[:20]}/{name[:20]}/{suffix}"
            artifacts[name] = {
                "name": name,
                "revision": None,
                "location": {
                    "type": "S3",
                    "s3Location": {"bucketName": self.artifact_bucket, "objectKey": key},
                },
            }
        return artifacts[name]

    async def _wait(self, job: _Job, deadline: float) -> tuple[str, dict[str, Any]] | None:
        """The job's result, once reported; ``None`` if ``deadline`` passes first."""
        try:
            with CancelScope() as scope:
                with self._lock:
                    if job.result is not None:
                        return job.result
                    job.wake = waker(scope.cancel)
                await self.clock.sleep_until(deadline)
            with self._lock:
                job.wake = None
                return job.result
        finally:
            self._close(job)

    def _close(self, job: _Job) -> None:
        """The job has its result or will get none: later reports are refused."""
        with self._lock:
            if job.result is None:
                job.result = ("closed", {})

    # -- the job worker's calls ----------------------------------------------------------------

    def put_job_success_result(
        self,
        *,
        jobId: str,
        currentRevision: Mapping[str, Any] | None = None,
        continuationToken: str | None = None,
        executionDetails: Mapping[str, Any] | None = None,
        outputVariables: Mapping[str, str] | None = None,
    ) -> None:
        """Report a job's success (PutJobSuccessResult); with ``continuationToken``, the
        action is still in progress and runs again as a new job given that token.

        :raises ~faaslib.ValidationException: a malformed id, token, details or variables
        :raises JobNotFoundException: the pipeline has no such job
        :raises InvalidJobStateException: the job already has its result
        """
        details: dict[str, Any] = {}
        if continuationToken is not None:
            _check_text("continuationToken", continuationToken, 2048)
            details["continuationToken"] = continuationToken
        if executionDetails is not None:
            details["executionDetails"] = _execution_details(executionDetails)
        if outputVariables is not None:
            details["outputVariables"] = _output_variables(outputVariables)
        if currentRevision is not None:
            details["currentRevision"] = _current_revision(currentRevision)
        self._report(jobId, ("success", details))

    def put_job_failure_result(
        self,
        *,
        jobId: str,
        failureDetails: Mapping[str, Any],
    ) -> None:
        """Report a job's failure (PutJobFailureResult): ``failureDetails`` holds ``type``
        (``JobFailed``, ``ConfigurationError``, ``PermissionError``, ...), ``message`` and
        optionally ``externalExecutionId``. The action fails.

        :raises ~faaslib.ValidationException: a malformed id or failure details
        :raises JobNotFoundException: the pipeline has no such job
        :raises InvalidJobStateException: the job already has its result
        """
        if not isinstance(failureDetails, Mapping):
            raise ValidationException("failureDetails", failureDetails, "Member must not be null")
        kind = failureDetails.get("type")
        if kind not in FAILURE_TYPES:
            raise ValidationException(
                "failureDetails.type",
                kind,
                f"Member must satisfy enum value set: [{', '.join(FAILURE_TYPES)}]",
            )
        _check_text("failureDetails.message", failureDetails.get("message"), 5000)
        details = {"type": kind, "message": failureDetails["message"]}
        if failureDetails.get("externalExecutionId") is not None:
            external = failureDetails["externalExecutionId"]
            _check_text("failureDetails.externalExecutionId", external, 1500)
            details["externalExecutionId"] = external
        self._report(jobId, ("failure", details))

    def _report(self, job_id: object, result: tuple[str, dict[str, Any]]) -> None:
        if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
            raise ValidationException(
                "jobId",
                job_id,
                "Member must satisfy regular expression pattern: "
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            )
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise JobNotFoundException(
                    "The job was specified in an invalid format or cannot be found."
                )
            if job.result is not None:
                raise InvalidJobStateException("The job state was specified in an invalid format.")
            job.result = result
            wake = job.wake
        if wake is not None:
            wake()

    def __repr__(self) -> str:
        return f"<Pipeline {self.name} stages={len(self.stages)}>"


# -- checks ------------------------------------------------------------------------------------


def _check_name(field_name: str, value: object) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValidationException(
            field_name, value, "Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+"
        )


def _check_text(field_name: str, value: object, most: int) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= most:
        raise ValidationException(
            field_name, value, f"Member must be a string of length from 1 to {most}"
        )


def _check_layout(stages: Sequence[Stage]) -> None:
    """Unique stage names, action names unique in their stage; each output artifact written
    by one action only."""
    stage_names = [s.name for s in stages]
    if len(set(stage_names)) != len(stage_names):
        raise InvalidParameterValueException("The pipeline has two stages of one name")
    for stage in stages:
        names = [a.name for a in stage.actions]
        if len(set(names)) != len(names):
            raise InvalidParameterValueException(f"Stage {stage.name} has two actions of one name")
    outputs = [o for s in stages for a in s.actions for o in a.output_artifacts]
    if len(set(outputs)) != len(outputs):
        raise InvalidParameterValueException("Two actions write an output artifact of one name")


def _execution_details(details: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    if details.get("summary") is not None:
        _check_text("executionDetails.summary", details["summary"], 2048)
        checked["summary"] = details["summary"]
    if details.get("externalExecutionId") is not None:
        _check_text("executionDetails.externalExecutionId", details["externalExecutionId"], 1500)
        checked["externalExecutionId"] = details["externalExecutionId"]
    percent = details.get("percentComplete")
    if percent is not None:
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ValidationException(
                "executionDetails.percentComplete",
                percent,
                "Member must have value between 0 and 100",
            )
        checked["percentComplete"] = percent
    return checked


def _output_variables(variables: Mapping[str, str]) -> dict[str, str]:
    for key, value in variables.items():
        if not isinstance(key, str) or not _VARIABLE.fullmatch(key):
            raise ValidationException(
                "outputVariables",
                key,
                "Member must satisfy regular expression pattern: [A-Za-z0-9@\\-_]+",
            )
        if not isinstance(value, str):
            raise ValidationException(f"outputVariables.{key}", value, "Member must be a string")
    return dict(variables)


def _current_revision(revision: Mapping[str, Any]) -> dict[str, Any]:
    _check_text("currentRevision.revision", revision.get("revision"), 1500)
    _check_text("currentRevision.changeIdentifier", revision.get("changeIdentifier"), 100)
    return dict(revision)


# -- the job event -----------------------------------------------------------------------------


def codepipeline_job(
    function_name: str = "my-pipeline-function",
    user_parameters: str | None = None,
    *,
    job_id: str | None = None,
    account_id: str = "123456789012",
    input_artifacts: Sequence[Mapping[str, Any]] = (),
    output_artifacts: Sequence[Mapping[str, Any]] = (),
    continuation_token: str | None = None,
    encryption_key: str | None = None,
) -> dict[str, Any]:
    """The ``CodePipeline.job`` event a Lambda invoke action's function receives.

    Artifacts are given as the event lists them (``{"name", "revision", "location": {"type":
    "S3", "s3Location": {"bucketName", "objectKey"}}}``). ``UserParameters`` is left out when
    ``None``; ``continuationToken`` and ``encryptionKey`` (a KMS key ARN) are sent only when
    given. The artifact credentials are made-up temporary credentials.
    """
    configuration = {"FunctionName": function_name}
    if user_parameters is not None:
        configuration["UserParameters"] = user_parameters
    data: dict[str, Any] = {
        "actionConfiguration": {"configuration": configuration},
        "inputArtifacts": [dict(a) for a in input_artifacts],
        "outputArtifacts": [dict(a) for a in output_artifacts],
        "artifactCredentials": {
            "accessKeyId": "ASIA"
            + "".join(secrets.choice(string.ascii_uppercase) for _ in range(16)),
            "secretAccessKey": secrets.token_urlsafe(30)[:40],
            "sessionToken": secrets.token_urlsafe(270),
        },
    }
    if continuation_token is not None:
        data["continuationToken"] = continuation_token
    if encryption_key is not None:
        data["encryptionKey"] = {"id": encryption_key, "type": "KMS"}
    return {
        "CodePipeline.job": {
            "id": job_id or str(uuid.uuid4()),
            "accountId": account_id,
            "data": data,
        }
    }
