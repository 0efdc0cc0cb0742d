"""``Registry.from_template``: SAM and CloudFormation templates read as faaslib's functions,
settings, triggers and sources; what faaslib does not run is a warning; the round trip
(export, import) keeps the functions and their configuration. Functions run in real worker
processes from code written for Lambda."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import faaslib
from faaslib import _cli
from faaslib.sam._export import export_sam

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes")

ROOT = Path(__file__).resolve().parent.parent

CODE = """
import json
import os


def handler(event, context):
    return {"stage": os.environ.get("STAGE"), "event": event}


def report(event, context):
    return {"records": len(event.get("Records", [])), "queue": os.environ.get("QUEUE_URL")}
"""

SAM = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: every setting and event faaslib reads
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Runtime: python3.12
    Timeout: 6
    MemorySize: 256
    CodeUri: src/
    Environment:
      Variables:
        STAGE: !Ref Stage
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${Stage}-api"
      Handler: app.handler
      Description: the API
      ReservedConcurrentExecutions: 3
      FunctionUrlConfig:
        AuthType: NONE
      Events:
        Get:
          Type: Api
          Properties:
            RestApiId: !Ref PublicApi
            Path: /orders/{id}
            Method: get
        Http:
          Type: HttpApi
          Properties:
            Path: /v2/orders
            Method: POST
            PayloadFormatVersion: "1.0"
        Default:
          Type: HttpApi
  PublicApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
      BinaryMediaTypes: ["image~1png"]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.report
      Timeout: 20
      AutoPublishAlias: live
      ProvisionedConcurrencyConfig:
        ProvisionedConcurrentExecutions: 1
      Environment:
        Variables:
          QUEUE_URL: !Ref Orders
          RETRIES: 3
          DEBUG: false
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        MaximumEventAgeInSeconds: 120
        DestinationConfig:
          OnSuccess:
            Type: SQS
            Destination: !GetAtt Done.Arn
          OnFailure:
            Type: SNS
      DeadLetterQueue:
        Type: SQS
        TargetArn: !GetAtt Dead.Arn
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
            BatchSize: 5
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["order"]}}'
            ScalingConfig:
              MaximumConcurrency: 4
        Clicks:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Clicks.Arn
            StartingPosition: LATEST
            BatchSize: 50
            ParallelizationFactor: 2
            BisectBatchOnFunctionError: true
            MaximumRetryAttempts: 3
            MaximumRecordAgeInSeconds: 600
            DestinationConfig:
              OnFailure:
                Destination: !GetAtt Dead.Arn
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Items.StreamArn
            StartingPosition: TRIM_HORIZON
            Enabled: false
        Uploads:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter:
              S3Key:
                Rules:
                  - Name: prefix
                    Value: in/
                  - Name: suffix
                    Value: .csv
        Alerts:
          Type: SNS
          Properties:
            Topic: !Ref Alerts
            FilterPolicy:
              level: [high]
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
            Input: '{"job": "hourly"}'
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 2 * * ? *)
            State: DISABLED
  ProdOnly:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Properties:
      Handler: app.handler
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 120
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dead.Arn
        maxReceiveCount: 3
  Dead:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Stage}-dead"
  Done:
    Type: AWS::SQS::Queue
  Clicks:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 2
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
        - AttributeName: sk
          KeyType: RANGE
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
        - AttributeName: sk
          AttributeType: S
      BillingMode: PAY_PER_REQUEST
      StreamSpecification:
        StreamViewType: NEW_IMAGE
  Uploads:
    Type: AWS::S3::Bucket
  Alerts:
    Type: AWS::SNS::Topic
"""


def write(directory: Path, template: str, code: str = CODE) -> Path:
    (directory / "src").mkdir(exist_ok=True)
    (directory / "src" / "app.py").write_text(textwrap.dedent(code))
    path = directory / "template.yaml"
    path.write_text(textwrap.dedent(template))
    return path


def same(trigger: object, expected: object) -> bool:
    """Triggers compare by identity (each is a mapping of its own): compare their settings."""
    settings = [f.name for f in dataclasses.fields(expected) if f.init]  # type: ignore[arg-type]
    return type(trigger) is type(expected) and all(
        getattr(trigger, name) == getattr(expected, name) for name in settings
    )


def read(path: Path, **options: Any) -> faaslib.Registry:
    return faaslib.Registry.from_template(path, **options)


def test_functions_take_their_settings_from_the_template(tmp_path: Path) -> None:
    registry = read(write(tmp_path, SAM))
    assert sorted(spec.name for spec in registry) == ["Worker", "dev-api"]  # no ProdOnly
    api = registry.get("dev-api")
    assert (api.handler, api.code_uri, api.isolation) == (
        "app.handler",
        str(tmp_path / "src"),
        "process",
    )
    assert (api.timeout, api.memory_size, api.description) == (6, 256, "the API")
    assert api.reserved_concurrency == 3
    assert dict(api.environment) == {"STAGE": "dev"}
    worker = registry.get("Worker")
    assert worker.timeout == 20
    assert dict(worker.environment) == {
        "STAGE": "dev",
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/Orders",
        "RETRIES": "3",
        "DEBUG": "false",
    }
    assert (worker.max_retry_attempts, worker.max_event_age) == (1, 120)
    resources = registry.resources
    assert worker.on_success is resources["Done"]
    assert worker.dead_letter is resources["Dead"]
    made = resources["WorkerEventInvokeConfigOnFailureTopic"]  # SAM makes one when none is named
    assert isinstance(made, faaslib.Topic)
    assert worker.on_failure is made
    assert [a.name for a in registry.aliases("Worker")] == ["live"]
    assert registry.get_alias("Worker", "live").provisioned_concurrency == 1
    assert registry.versions("Worker") == ["$LATEST", "1"]
    assert worker.provisioned_concurrency == 0  # it is the alias's


def test_sources_are_the_templates_resources(tmp_path: Path) -> None:
    resources = read(write(tmp_path, SAM), parameters={"Stage": "prod"}).resources
    orders = resources["Orders"]
    assert isinstance(orders, faaslib.Queue)
    assert orders.visibility_timeout == 120
    assert orders.dead_letter_queue is resources["Dead"]
    assert orders.max_receive_count == 3
    assert orders.dead_letter_queue is not None
    assert orders.dead_letter_queue.name == "prod-dead"
    clicks = resources["Clicks"]
    assert isinstance(clicks, faaslib.Stream)
    assert len(clicks.shard_ids) == 2
    items = resources["Items"]
    assert isinstance(items, faaslib.Table)
    assert (items.partition_key, items.sort_key) == ("pk", "sk")
    assert items.stream.view_type == "NEW_IMAGE"
    uploads = resources["Uploads"]
    assert isinstance(uploads, faaslib.Bucket)
    assert uploads.name == "uploads"
    assert isinstance(resources["Alerts"], faaslib.Topic)


def test_events_become_triggers(tmp_path: Path) -> None:
    registry = read(write(tmp_path, SAM))
    resources = registry.resources
    get, http, default, url = registry.get("dev-api").events
    assert same(
        get,
        faaslib.Api(
            path="/orders/{id}", method="GET", stage="live", binary_media_types=["image/png"]
        ),
    )
    assert same(
        http, faaslib.HttpApi(path="/v2/orders", method="POST", payload_format_version="1.0")
    )
    assert same(default, faaslib.HttpApi())
    assert same(url, faaslib.FunctionUrl(auth_type="NONE"))
    queue, clicks, changes, uploads, alerts, hourly, nightly = registry.get("Worker").events
    assert same(
        queue,
        faaslib.SQS(
            resources["Orders"],  # type: ignore[arg-type]
            batch_size=5,
            maximum_batching_window=2,
            function_response_types=["ReportBatchItemFailures"],
            filter_criteria=['{"body": {"kind": ["order"]}}'],
            maximum_concurrency=4,
        ),
    )
    assert isinstance(clicks, faaslib.Kinesis)
    assert clicks.stream is resources["Clicks"]
    assert (clicks.starting_position, clicks.batch_size, clicks.parallelization_factor) == (
        "LATEST",
        50,
        2,
    )
    assert clicks.bisect_batch_on_function_error is True
    assert (clicks.maximum_retry_attempts, clicks.maximum_record_age) == (3, 600)
    assert clicks.on_failure is resources["Dead"]
    assert isinstance(changes, faaslib.DynamoDB)
    assert changes.enabled is False
    assert changes.stream is resources["Items"].stream  # type: ignore[attr-defined]
    assert same(
        uploads,
        faaslib.S3(
            resources["Uploads"],  # type: ignore[arg-type]
            events=["s3:ObjectCreated:*"],
            prefix="in/",
            suffix=".csv",
        ),
    )
    assert isinstance(alerts, faaslib.SNS)
    assert alerts.topic is resources["Alerts"]
    assert alerts.filter_policy == {"level": ["high"]}
    assert same(
        hourly, faaslib.Schedule("rate(1 hour)", input={"job": "hourly"}, name="WorkerHourly")
    )
    assert same(nightly, faaslib.Schedule("cron(0 2 * * ? *)", enabled=False, name="WorkerNightly"))


CLOUDFORMATION = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Handler:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: plain-handler
      Runtime: python3.11
      Handler: app.report
      Code: src
      Role: !GetAtt Role.Arn
      Environment:
        Variables:
          QUEUE_URL: !Ref Jobs
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  Jobs:
    Type: AWS::SQS::Queue
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Jobs.Arn
      FunctionName: !Ref Handler
      BatchSize: 7
  Every5:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: rate(5 minutes)
      Targets:
        - Id: job
          Arn: !GetAtt Handler.Arn
          Input: '{"from": "rule"}'
  Permission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref Handler
      Principal: events.amazonaws.com
      SourceArn: !GetAtt Every5.Arn
  News:
    Type: AWS::SNS::Topic
    Properties:
      Subscription:
        - Protocol: lambda
          Endpoint: !GetAtt Handler.Arn
  Loose:
    Type: AWS::SNS::Topic
  LooseSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      Protocol: lambda
      TopicArn: !Ref Loose
      Endpoint: !GetAtt Handler.Arn
      FilterPolicy: '{"kind": ["a"]}'
  Files:
    Type: AWS::S3::Bucket
    Properties:
      NotificationConfiguration:
        LambdaConfigurations:
          - Event: s3:ObjectRemoved:*
            Function: !GetAtt Handler.Arn
            Filter:
              S3Key:
                Rules:
                  - Name: Prefix
                    Value: logs/
  Async:
    Type: AWS::Lambda::EventInvokeConfig
    Properties:
      FunctionName: !Ref Handler
      Qualifier: $LATEST
      MaximumRetryAttempts: 0
      DestinationConfig:
        OnFailure:
          Destination: !GetAtt Jobs.Arn
"""


def test_plain_cloudformation_wiring_becomes_triggers(tmp_path: Path) -> None:
    registry = read(write(tmp_path, CLOUDFORMATION))
    spec = registry.get("plain-handler")
    resources = registry.resources
    assert spec.code_uri == str(tmp_path / "src")
    assert spec.max_retry_attempts == 0
    assert spec.on_failure is resources["Jobs"]
    by_kind = {type(trigger).__name__: trigger for trigger in spec.events}
    assert sorted(by_kind) == ["S3", "SNS", "SQS", "Schedule"]
    assert same(by_kind["SQS"], faaslib.SQS(resources["Jobs"], batch_size=7))  # type: ignore[arg-type]
    assert same(
        by_kind["Schedule"],
        faaslib.Schedule(
            "rate(5 minutes)", input={"from": "rule"}, name="Every5", implicit_permission=False
        ),
    )
    assert same(
        by_kind["S3"],
        faaslib.S3(
            resources["Files"],  # type: ignore[arg-type]
            events=["s3:ObjectRemoved:*"],
            prefix="logs/",
            implicit_permission=False,
        ),
    )
    topics = [t for t in spec.events if isinstance(t, faaslib.SNS)]
    by_topic = {t.topic.name: t for t in topics}
    assert by_topic["News"].topic is resources["News"]
    assert by_topic["Loose"].topic is resources["Loose"]
    assert by_topic["Loose"].filter_policy == {"kind": ["a"]}
    # Wired by CloudFormation alone, a source needs a statement of the function's policy (a
    # mapping does not: it polls with the function's role); the template's Permission is one.
    assert [t.implicit_permission for t in spec.events if not isinstance(t, faaslib.SQS)] == [
        False
    ] * 4
    (statement,) = registry.policy("plain-handler")
    assert statement == faaslib.PolicyStatement(
        "Permission",
        "events.amazonaws.com",
        source_arn="arn:aws:events:us-east-1:123456789012:rule/Every5",
    )


async def test_a_template_function_runs_from_its_sources(tmp_path: Path) -> None:
    registry = read(write(tmp_path, CLOUDFORMATION))
    jobs = registry.resources["Jobs"]
    files = registry.resources["Files"]
    assert isinstance(jobs, faaslib.Queue)
    assert isinstance(files, faaslib.Bucket)
    async with faaslib.Invoker(registry) as invoker:
        direct = await invoker.invoke("plain-handler", {"Records": [1, 2]})
        files.put("logs/a.txt", b"x")
        files.delete("logs/a.txt")  # an ObjectRemoved record for the function
        await invoker.drain()
    assert json.loads(direct.payload) == {
        "records": 2,
        "queue": "https://sqs.us-east-1.amazonaws.com/123456789012/Jobs",
    }
    stats = invoker.metrics().functions["plain-handler"]
    assert stats.invocations == 2
    assert stats.errors == 0


UNSUPPORTED = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Node:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      CodeUri: src/
  Image:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest
  Inline:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "def handler(e, c): return 1"
  InS3:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: s3://bucket/code.zip
  Layered:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Layers: [!Ref Deps]
      VpcConfig:
        SubnetIds: [subnet-1]
        SecurityGroupIds: [sg-1]
      Environment:
        Variables:
          API: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod"
          SECRET: !Ref Secret
          EXTERNAL: arn:aws:sqs:us-east-1:999999999999:other-queue
      Events:
        Broker:
          Type: MQ
          Properties:
            Broker: arn:aws:mq:us-east-1:123456789012:broker:b:b-1
            Queues: [q]
        Other:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:us-east-1:999999999999:other-queue
  Deps:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: deps/
  Secret:
    Type: AWS::SecretsManager::Secret
"""


def test_what_faaslib_does_not_run_is_a_warning_naming_it(tmp_path: Path) -> None:
    with pytest.warns(faaslib.TemplateWarning) as caught:
        registry = read(write(tmp_path, UNSUPPORTED))
    messages = [str(w.message) for w in caught]
    expected = [
        "Node (AWS::Serverless::Function): runtime 'nodejs20.x' is not Python",
        "Image (AWS::Serverless::Function): a container image function",
        "Inline: inline code is not run",
        "InS3: code in S3 ('s3://bucket/code.zip') is not fetched",
        "Layered: layers are not loaded",
        "Layered: a VPC has no meaning",
        "Layered: event Broker of type MQ is not run by faaslib yet",
        "arn:aws:sqs:us-east-1:999999999999:other-queue is not in the template",
        "Deps: AWS::Serverless::LayerVersion is not run by faaslib",
        "Secret: AWS::SecretsManager::Secret is not run by faaslib",
    ]
    for part in expected:
        assert any(part in message for message in messages), (part, messages)
    assert [spec.name for spec in registry] == ["Layered"]
    (other,) = registry.get("Layered").events
    assert isinstance(other, faaslib.SQS)
    assert other.queue is registry.resources["other-queue"]
    variables = registry.get("Layered").environment
    assert variables["SECRET"] == "Secret"  # a placeholder: its logical id
    assert re.fullmatch(
        r"https://[a-z0-9]{10}\.execute-api\.us-east-1\.amazonaws\.com/Prod", variables["API"]
    )
    combined = faaslib.Registry()
    combined.include(registry, prefix="app-")
    assert combined.resources == registry.resources


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("CodeUri: src/", "CodeUri: nowhere/"),
            "Resources.Fn.Properties.CodeUri: 'nowhere/' is not a directory",
        ),
        (("Handler: app.handler", "Description: x"), "Resources.Fn.Properties.Handler: missing"),
        (("Timeout: 3", "Timeout: 901"), "Resources.Fn.Properties: 1 validation error"),
        (
            ("Timeout: 3", "Timeout: soon"),
            "Resources.Fn.Properties.Timeout: 'soon' is not a number",
        ),
        (("Type: SQS", "Kind: SQS"), "Resources.Fn.Properties.Events.Jobs: an event needs a Type"),
        (("Queue: !GetAtt Jobs.Arn", "Queue: !GetAtt Nope.Arn"), "Nope"),
        (("Schedule: rate(1 hour)", "Schedule: rate(1 hours)"), "Events.Tick: 1 validation error"),
        (("Input: '{}'", "Input: 'not json'"), "Events.Tick.Input: 'not json' is not JSON text"),
    ],
)
def test_a_template_faaslib_cannot_read_is_a_template_error_naming_the_place(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    template = """
    Transform: AWS::Serverless-2016-10-31
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Runtime: python3.12
          CodeUri: src/
          Handler: app.handler
          Timeout: 3
          Events:
            Jobs:
              Type: SQS
              Properties:
                Queue: !GetAtt Jobs.Arn
            Tick:
              Type: Schedule
              Properties:
                Schedule: rate(1 hour)
                Input: '{}'
      Jobs:
        Type: AWS::SQS::Queue
    """
    assert change[0] in template
    path = write(tmp_path, template.replace(change[0], change[1]))
    with pytest.raises(faaslib.TemplateError) as info:
        read(path)
    assert message in str(info.value)
    assert info.value.status_code == 400
    assert info.value.error_type == "ValidationError"


def test_a_template_with_no_resources_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text('{"Resources": {}}')
    with pytest.raises(faaslib.TemplateError, match="At least one Resources member"):
        read(path)


def comparable(registry: faaslib.Registry) -> dict[str, Any]:
    """What a round trip must keep of each function."""
    return {
        spec.name: {
            "timeout": spec.timeout,
            "memory": spec.memory_size,
            "description": spec.description,
            "retries": spec.max_retry_attempts,
            "age": spec.max_event_age,
            "reserved": spec.reserved_concurrency,
            "events": [type(trigger).__name__ for trigger in spec.events],
            "aliases": [alias.name for alias in registry.aliases(spec.name)],
            "destinations": [type(d).__name__ for d in (spec.on_success, spec.on_failure)],
            "dead_letter": type(spec.dead_letter).__name__,
        }
        for spec in registry
    }


def test_round_trip_of_a_sam_application(tmp_path: Path) -> None:
    first = read(write(tmp_path, SAM))
    exported = export_sam(first, "unused:registry")
    assert exported.warnings == [  # what a template says and a registry does not keep
        (
            "Worker: 1 published version(s) not exported: AutoPublishAlias publishes a version "
            "at each deployment"
        ),
        (
            "Table 'Items': the type of key 'pk' is not known (no item holds it): exported as a "
            "string (S)"
        ),
        (
            "Table 'Items': the type of key 'sk' is not known (no item holds it): exported as a "
            "string (S)"
        ),
    ]
    (worker,) = (
        resource["Properties"]
        for resource in exported.template["Resources"].values()
        if resource["Properties"].get("FunctionName") == "Worker"
    )
    assert worker["Handler"] == "app.report"
    assert worker["CodeUri"] == str(tmp_path / "src")
    assert worker["Environment"]["Variables"]["RETRIES"] == "3"
    path = tmp_path / "exported.json"
    path.write_text(json.dumps(exported.template))
    second = read(path)
    assert comparable(second) == comparable(first)
    assert {s.name: dict(s.environment) for s in second} == {
        s.name: dict(s.environment) for s in first
    }


async def test_round_trip_of_a_faaslib_registry_answers_the_same(tmp_path: Path) -> None:
    # A faaslib registry exported to SAM (Handler faaslib.aws.handler) and read back runs the
    # same typed handler, through the AWS entry point, in a worker process.
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import orders
    finally:
        sys.path.remove(str(ROOT / "examples"))
    exported = export_sam(orders.registry, "orders:registry", code_uri=str(ROOT / "examples"))
    path = tmp_path / "template.json"
    path.write_text(json.dumps(exported.template))
    back = read(path)
    assert sorted(spec.name for spec in back) == sorted(spec.name for spec in orders.registry)
    for spec in back:
        original = orders.registry.get(spec.name)
        assert (spec.timeout, spec.memory_size) == (original.timeout, original.memory_size)
        assert spec.handler == "faaslib.aws.handler"
    order = {"order_id": "o-1", "customer": "ann", "lines": [{"sku": "pear", "quantity": 2}]}
    async with faaslib.Invoker(orders.registry) as invoker:
        expected = await invoker.invoke("quote_order", order)
    async with faaslib.Invoker(back) as invoker:
        answered = await invoker.invoke("quote_order", order)
    assert answered.function_error is None
    assert json.loads(answered.payload) == json.loads(expected.payload)


def test_the_command_line_takes_a_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, SAM)
    monkeypatch.chdir(tmp_path)
    assert _cli.main(["list", "template.yaml", "--parameter-overrides", "Stage=prod"]) == 0
    listing = capsys.readouterr().out
    assert "prod-api" in listing
    assert "Worker" in listing
    assert "ProdOnly" in listing
    status = _cli.main(["invoke", str(path), "dev-api", "--payload", '{"id": 1}'])
    out = capsys.readouterr().out
    assert status == 0
    assert json.loads(out) == {"stage": "dev", "event": {"id": 1}}
    assert _cli.main(["list", "template.yaml", "--parameter-overrides", "Stage"]) == 2
    assert "Key=Value" in capsys.readouterr().err
    assert _cli.main(["list", "template.yaml", "--parameter-overrides", "Stage=qa"]) == 2
    assert "Stage" in capsys.readouterr().err
    unsupported = write(tmp_path, UNSUPPORTED)
    assert _cli.main(["list", str(unsupported)]) == 0  # its warnings printed, not raised
    assert "warning: Layered: layers are not loaded" in capsys.readouterr().err


def test_an_event_on_a_source_the_template_lacks_is_a_warning(tmp_path: Path) -> None:
    template = """
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      QueueName:
        Type: String
        Default: jobs
    Conditions:
      Never: !Equals [a, b]
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          Runtime: python3.12
          CodeUri: src/
          Handler: app.handler
          Events:
            ByName:
              Type: SQS
              Properties:
                Queue: !Ref QueueName
            Conditional:
              Type: SNS
              Properties:
                Topic: !Ref Maybe
      Maybe:
        Type: AWS::SNS::Topic
        Condition: Never
    """
    with pytest.warns(faaslib.TemplateWarning) as caught:
        registry = read(write(tmp_path, template))
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        (
            "Resources.Fn.Properties.Events.ByName.Queue: 'jobs' is no SQS resource of the "
            "template; the event is left out"
        ),
        (
            "Resources.Fn.Properties.Events.Conditional.Topic: "
            "'arn:aws:sns:us-east-1:123456789012:Maybe' is no SNS resource of the template; "
            "the event is left out"
        ),
    ]
    assert registry.get("Fn").events == ()
