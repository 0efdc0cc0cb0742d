"""SAM and CloudFormation templates read into plain data (short tags in their long form, SAM's
Globals merged) and their parameters, conditions and intrinsic functions resolved."""

from __future__ import annotations

import copy
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_sam_export import EVERYTHING, ORDERS, exported

from faaslib._errors import TemplateError
from faaslib.sam._intrinsics import Intrinsics
from faaslib.sam._template import _loader, apply_globals, load_template

HERE = Path(__file__).parent
REFS = {"Uploads": "uploads-bucket", "Jobs": "https://sqs.us-east-1.amazonaws.com/1/jobs"}
ATTRIBUTES = {
    ("Uploads", "Arn"): "arn:aws:s3:::uploads-bucket",
    ("Jobs", "QueueName"): "jobs",
    ("Jobs", "Arn"): "arn:aws:sqs:us-east-1:123456789012:jobs",
    ("Site", "Outputs.Url"): "https://example.com",
}

TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Description: Uploads are queued for a worker
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  BatchSize:
    Type: Number
    Default: 10
    MinValue: 1
    MaxValue: 10000
  Owners:
    Type: CommaDelimitedList
    Default: alice,bob
Mappings:
  StageSettings:
    dev: {Memory: 128, Retention: 60}
    prod: {Memory: 1024, Retention: 1209600}
  Accounts:
    123456789012: {Alias: sandbox}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  IsLargeBatch: !Equals [!Ref BatchSize, 10]
  ProdAndLarge: !And [!Condition IsProd, !Condition IsLargeBatch]
  ProdOrLarge: !Or [!Condition IsProd, !Condition IsLargeBatch]
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-${Stage}-jobs"
  Site:
    Type: AWS::CloudFormation::Stack
"""


def write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def intrinsics(template: dict[str, Any], **options: Any) -> Intrinsics:
    """Intrinsics over the resources above, whatever the template declares."""
    return Intrinsics(
        template,
        ref=REFS.get,
        get_att=lambda logical_id, name: ATTRIBUTES.get((logical_id, name)),
        **options,
    )


@pytest.fixture
def template(tmp_path: Path) -> dict[str, Any]:
    return load_template(write(tmp_path, TEMPLATE))


def resolve(template: dict[str, Any], text: str, **options: Any) -> Any:
    """The YAML value ``text`` (read with the template's tags) resolved in ``template``."""
    value = yaml.load(text, Loader=_loader())
    return intrinsics(template, **options).resolve(value, "Resources.Jobs.Properties.Value")


def raises(message: str) -> pytest.RaisesExc[TemplateError]:
    return pytest.raises(TemplateError, match=re.escape(message))


# -- reading templates ---------------------------------------------------------------------------


def test_short_tags_come_back_in_long_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Resources:
          Tags:
            Type: Custom::Tags
            Properties:
              Ref: !Ref Uploads
              GetAtt: !GetAtt Uploads.Arn
              GetAttDotted: !GetAtt Site.Outputs.Url
              GetAttList: !GetAtt [Jobs, QueueName]
              Sub: !Sub "${AWS::Region}-jobs"
              SubList: !Sub ["${Name}-dlq", {Name: !GetAtt Jobs.QueueName}]
              Join: !Join [":", [a, b]]
              Select: !Select [0, !GetAZs ""]
              Split: !Split [",", "a,b"]
              If: !If [IsProd, 1, 2]
              Equals: !Equals [a, b]
              And: !And [!Condition A, !Condition B]
              Or: !Or [!Condition A, !Condition B]
              Not: !Not [!Condition A]
              FindInMap: !FindInMap [Map, Top, Second]
              Base64: !Base64 text
              ImportValue: !ImportValue shared-vpc
              Cidr: !Cidr ["10.0.0.0/16", 4, 8]
              ToJsonString: !ToJsonString {a: 1}
              Length: !Length [1, 2]
              Transform: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}
        """,
    )
    properties = load_template(path)["Resources"]["Tags"]["Properties"]
    assert properties == {
        "Ref": {"Ref": "Uploads"},
        "GetAtt": {"Fn::GetAtt": ["Uploads", "Arn"]},
        "GetAttDotted": {"Fn::GetAtt": ["Site", "Outputs.Url"]},
        "GetAttList": {"Fn::GetAtt": ["Jobs", "QueueName"]},
        "Sub": {"Fn::Sub": "${AWS::Region}-jobs"},
        "SubList": {"Fn::Sub": ["${Name}-dlq", {"Name": {"Fn::GetAtt": ["Jobs", "QueueName"]}}]},
        "Join": {"Fn::Join": [":", ["a", "b"]]},
        "Select": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "Split": {"Fn::Split": [",", "a,b"]},
        "If": {"Fn::If": ["IsProd", 1, 2]},
        "Equals": {"Fn::Equals": ["a", "b"]},
        "And": {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]},
        "Or": {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]},
        "Not": {"Fn::Not": [{"Condition": "A"}]},
        "FindInMap": {"Fn::FindInMap": ["Map", "Top", "Second"]},
        "Base64": {"Fn::Base64": "text"},
        "ImportValue": {"Fn::ImportValue": "shared-vpc"},
        "Cidr": {"Fn::Cidr": ["10.0.0.0/16", 4, 8]},
        "ToJsonString": {"Fn::ToJsonString": {"a": 1}},
        "Length": {"Fn::Length": [1, 2]},
        "Transform": {
            "Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}
        },
    }


def test_dates_stay_text_and_other_scalars_stay_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        AWSTemplateFormatVersion: 2010-09-09
        Resources:
          Policy:
            Type: AWS::IAM::ManagedPolicy
            Properties:
              Version: 2012-10-17
              Stamp: 2001-12-14t21:59:43.10-05:00
              Schema: 1.0
              Count: 3
              Enabled: true
        """,
    )
    template = load_template(path)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Resources"]["Policy"]["Properties"] == {
        "Version": "2012-10-17",
        "Stamp": "2001-12-14t21:59:43.10-05:00",
        "Schema": 1.0,
        "Count": 3,
        "Enabled": True,
    }


def test_anchors_and_merge_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Resources:
          First: &queue
            Type: AWS::SQS::Queue
            Properties: {VisibilityTimeout: 60}
          Second:
            <<: *queue
            Condition: IsProd
        """,
    )
    resources = load_template(path)["Resources"]
    assert resources["Second"] == {**resources["First"], "Condition": "IsProd"}


def test_json_templates(tmp_path: Path) -> None:
    document = {"Resources": {"Jobs": {"Type": "AWS::SQS::Queue"}}, "Outputs": {}}
    path = write(tmp_path, "\n  " + json.dumps(document, indent=2), "template.json")
    assert load_template(path) == document
    assert load_template(str(path)) == document


def test_json_needs_no_pyyaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    document = {"Resources": {"Jobs": {"Type": "AWS::SQS::Queue"}}}
    assert load_template(write(tmp_path, json.dumps(document), "t.json")) == document
    with raises("t.yaml: reading a YAML template needs PyYAML: pip install 'faaslib[sam]'"):
        load_template(write(tmp_path, "Resources: {}\n", "t.yaml"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources:\n  A: [1\n", "t.yaml: line 3, column 1: not valid YAML: expected ',' or ']'"),
        ("Resources:\n  A: !Nope x\n", "t.yaml: line 2, column 6: not valid YAML: could not"),
        (
            "Resources:\n  A: {Type: X}\n  A: {Type: Y}\n",
            "t.yaml: line 3, column 3: not valid YAML: duplicate key 'A'",
        ),
        ('{"Resources": {"A": 1,}}', "t.yaml: line 1, column 23: not valid JSON"),
        ("- Resources\n", "t.yaml: a template is a mapping, not a list"),
        ("", "t.yaml: a template is a mapping, not nothing"),
        ("Outputs: {}\n", "t.yaml: Resources: the template has no Resources mapping"),
        ("Resources: [a]\n", "t.yaml: Resources: the template has no Resources mapping"),
        ("Resources: {A: x}\n'\x00'", "t.yaml: not valid YAML"),
    ],
)
def test_unreadable_templates(tmp_path: Path, text: str, message: str) -> None:
    with raises(message):
        load_template(write(tmp_path, text, "t.yaml"))


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with raises(f"{tmp_path / 'missing.yaml'}: cannot read the template"):
        load_template(tmp_path / "missing.yaml")
    (tmp_path / "latin.yaml").write_bytes(b"Resources: {A: {Type: \xe9}}\n")
    with raises("latin.yaml: cannot read the template"):
        load_template(tmp_path / "latin.yaml")


@pytest.mark.parametrize("reference", [EVERYTHING, ORDERS])
def test_exported_templates_read_back(tmp_path: Path, reference: str) -> None:
    template = exported(reference).template
    as_json = write(tmp_path, json.dumps(template, indent=2), "template.json")
    as_yaml = write(tmp_path, yaml.safe_dump(template), "template.yaml")
    assert load_template(as_json) == template
    assert load_template(as_yaml) == template
    assert apply_globals(template) == template
    names = template["Resources"]

    def ref(logical_id: str) -> str | None:
        return f"ref:{logical_id}" if logical_id in names else None

    def get_att(logical_id: str, name: str) -> str | None:
        return f"{logical_id}.{name}" if logical_id in names else None

    resolved = Intrinsics(template, ref=ref, get_att=get_att).resolve(names, "Resources")
    assert resolved.keys() == names.keys()
    assert "Fn::" not in json.dumps(resolved)
    assert '"Ref"' not in json.dumps(resolved)


# -- Globals ---------------------------------------------------------------------------------------

GLOBALS = """\
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    CodeUri: !Ref CodeLocation
    Architectures: [x86_64]
    Layers: [arn:aws:lambda:us-east-1:123456789012:layer:common:1]
    Environment:
      Variables:
        STAGE: dev
        TABLE: orders
    Tags: {team: payments}
  Api:
    Cors: "'*'"
  HttpApi:
    FailOnWarnings: true
  SimpleTable:
    SSESpecification: {SSEEnabled: true}
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.worker
      Timeout: 30
      CodeUri: {Bucket: code, Key: worker.zip}
      Architectures: [arm64]
      Layers: [arn:aws:lambda:us-east-1:123456789012:layer:worker:2]
      Environment:
        Variables:
          STAGE: prod
          QUEUE: !Ref Jobs
      Tags: [not-a-map]
  Reporter:
    Type: AWS::Serverless::Function
  Quiet:
    Type: AWS::Serverless::Function
    IgnoreGlobals: "*"
    Properties: {Handler: app.quiet}
  Picky:
    Type: AWS::Serverless::Function
    IgnoreGlobals: [Environment, Tags]
    Properties: {Handler: app.picky}
  Rest:
    Type: AWS::Serverless::Api
    Properties: {StageName: v1}
  Http:
    Type: AWS::Serverless::HttpApi
  Table:
    Type: AWS::Serverless::SimpleTable
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 60}
"""


def test_globals_merge_into_their_resources(tmp_path: Path) -> None:
    template = load_template(write(tmp_path, GLOBALS))
    original = copy.deepcopy(template)
    merged = apply_globals(template)
    assert template == original
    assert "Globals" not in merged
    resources = merged["Resources"]
    assert resources["Worker"]["Properties"] == {
        "Runtime": "python3.12",
        "Timeout": 30,
        "CodeUri": {"Bucket": "code", "Key": "worker.zip"},
        "Architectures": ["arm64"],
        "Layers": [
            "arn:aws:lambda:us-east-1:123456789012:layer:common:1",
            "arn:aws:lambda:us-east-1:123456789012:layer:worker:2",
        ],
        "Environment": {
            "Variables": {"STAGE": "prod", "TABLE": "orders", "QUEUE": {"Ref": "Jobs"}}
        },
        "Tags": ["not-a-map"],
        "Handler": "app.worker",
    }
    assert resources["Reporter"]["Properties"] == original["Globals"]["Function"]
    assert resources["Quiet"]["Properties"] == {"Handler": "app.quiet"}
    picky = resources["Picky"]["Properties"]
    assert picky.keys() == {"Runtime", "Timeout", "CodeUri", "Architectures", "Layers", "Handler"}
    assert resources["Rest"]["Properties"] == {"Cors": "'*'", "StageName": "v1"}
    assert resources["Http"]["Properties"] == {"FailOnWarnings": True}
    assert resources["Table"]["Properties"] == {"SSESpecification": {"SSEEnabled": True}}
    assert resources["Jobs"] == original["Resources"]["Jobs"]
    # Each resource has its own copy of the global values.
    resources["Reporter"]["Properties"]["Layers"].append("mine")
    assert len(resources["Picky"]["Properties"]["Layers"]) == 1


def test_an_intrinsic_function_merges_as_a_scalar() -> None:
    template = {
        "Globals": {"Function": {"Environment": {"Variables": {"A": "1"}}}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Environment": {"Fn::If": ["C", {"Variables": {}}, {}]}},
            }
        },
    }
    properties = apply_globals(template)["Resources"]["Fn"]["Properties"]
    assert properties == {"Environment": {"Fn::If": ["C", {"Variables": {}}, {}]}}


CAPACITY: dict[str, Any] = {
    "Globals": {
        "CapacityProvider": {
            "InstanceRequirements": {"Architectures": ["x86_64"], "MemoryMiB": 512},
            "ManagedResourceTags": {"team": "a", "cost": "b"},
        }
    },
    "Resources": {
        "Pool": {
            "Type": "AWS::Serverless::CapacityProvider",
            "Properties": {
                "InstanceRequirements": {"Architectures": ["arm64"]},
                "ManagedResourceTags": {"team": "c"},
            },
        },
        "Plain": {"Type": "AWS::Serverless::CapacityProvider"},
    },
}


def test_capacity_provider_globals_follow_their_own_rules() -> None:
    resources = apply_globals(CAPACITY)["Resources"]
    assert resources["Pool"]["Properties"] == {
        "InstanceRequirements": {"Architectures": ["arm64"], "MemoryMiB": 512},
        "ManagedResourceTags": {"team": "c"},
    }
    assert resources["Plain"]["Properties"] == CAPACITY["Globals"]["CapacityProvider"]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(GLOBALS, id="functions-apis-tables"),
        pytest.param(CAPACITY, id="capacity-provider"),
        *[
            pytest.param(path, id=f"examples/sam/{path.parent.name}")
            for path in sorted((HERE.parent / "examples" / "sam").glob("*/template.yaml"))
        ],
    ],
)
def test_globals_merge_as_the_sam_translator_does(
    tmp_path: Path, source: str | dict[str, Any] | Path
) -> None:
    from samtranslator.plugins.globals.globals_plugin import (  # type: ignore[import-untyped]
        GlobalsPlugin,
    )

    if isinstance(source, str):
        source = write(tmp_path, source)
    template = load_template(source) if isinstance(source, Path) else source
    translated = copy.deepcopy(template)
    GlobalsPlugin().on_before_transform_template(translated)
    assert apply_globals(template) == translated


def test_a_template_without_globals_is_copied() -> None:
    template: dict[str, Any] = {
        "Resources": {"Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"A": [1]}}}
    }
    merged = apply_globals(template)
    assert merged == template
    assert (
        merged["Resources"]["Jobs"]["Properties"]["A"]
        is not template["Resources"]["Jobs"]["Properties"]["A"]
    )


@pytest.mark.parametrize(
    ("globals_", "ignore", "message"),
    [
        (["Function"], None, "Globals: must be a mapping of sections, not a list"),
        ({"Queue": {}}, None, "Globals.Queue: not a SAM Globals section (one of Function, Api"),
        ({"Function": [1]}, None, "Globals.Function: must be a mapping, not a list"),
        (
            {"Function": {"Timeout": 3}},
            "Timeout",
            "Resources.Fn.IgnoreGlobals: must be '*' or a list of properties",
        ),
        (
            {"Function": {"Timeout": 3}},
            ["Runtime"],
            "Resources.Fn.IgnoreGlobals: 'Runtime' is not a property of Globals.Function",
        ),
    ],
)
def test_invalid_globals(globals_: object, ignore: object, message: str) -> None:
    resource: dict[str, Any] = {"Type": "AWS::Serverless::Function"}
    if ignore is not None:
        resource["IgnoreGlobals"] = ignore
    with raises(message):
        apply_globals({"Globals": globals_, "Resources": {"Fn": resource}})


# -- parameters ------------------------------------------------------------------------------------


def test_parameter_defaults_and_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Parameters:
          Stage: {Type: String, Default: dev}
          Size: {Type: Number, Default: 2.5}
          Debug: {Type: String, Default: false}
          Owners: {Type: CommaDelimitedList, Default: "alice,bob"}
          Ports: {Type: "List<Number>", Default: [80, 443]}
          Subnets: {Type: "List<AWS::EC2::Subnet::Id>", Default: "subnet-1,subnet-2"}
          Vpc: {Type: "AWS::EC2::VPC::Id", Default: vpc-1}
        Resources: {}
        """,
    )
    assert dict(intrinsics(load_template(path)).parameters) == {
        "Stage": "dev",
        "Size": "2.5",
        "Debug": "false",
        "Owners": ["alice", "bob"],
        "Ports": ["80", "443"],
        "Subnets": ["subnet-1", "subnet-2"],
        "Vpc": "vpc-1",
    }


def test_parameter_overrides(template: dict[str, Any]) -> None:
    resolved = intrinsics(template, parameters={"Stage": "prod", "Owners": "carol"})
    assert dict(resolved.parameters) == {"Stage": "prod", "BatchSize": "10", "Owners": ["carol"]}
    assert resolved.resolve({"Ref": "Owners"}, "Outputs.Owners") == ["carol"]
    assert resolved.condition("IsProd") is True


def test_ssm_parameters_are_used_as_their_values() -> None:
    """SSM is not reached: the override or Default stands for the stored value, unchecked."""
    template = {
        "Parameters": {
            "Latest": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/app/endpoint",
                "AllowedPattern": "^https://.*",
            },
            "Hosts": {"Type": "AWS::SSM::Parameter::Value<List<String>>", "Default": "/app/h"},
            "Name": {"Type": "AWS::SSM::Parameter::Name", "Default": "/app/name"},
        },
        "Resources": {},
    }
    assert dict(intrinsics(template).parameters) == {
        "Latest": "/app/endpoint",
        "Hosts": ["/app/h"],
        "Name": "/app/name",
    }
    overridden = intrinsics(template, parameters={"Hosts": "a.example,b.example"})
    assert overridden.parameters["Hosts"] == ["a.example", "b.example"]


def parameters(declared: Any) -> dict[str, Any]:
    return {"Parameters": declared, "Resources": {}}


@pytest.mark.parametrize(
    ("declared", "overrides", "message"),
    [
        (
            {
                "A": {"Type": "String"},
                "B": {"Type": "String", "Default": "b"},
                "C": {"Type": "Number"},
            },
            {},
            "Parameters: [A, C] must have values",
        ),
        ({"A": {"Type": "String", "Default": "a"}}, {"Z": "1", "Y": "2"}, "Parameters: [Y, Z] do"),
        ({"A": {"Default": "a"}}, {}, "Parameters.A: Every Parameters object must contain a Type"),
        ({"A": "String"}, {}, "Parameters.A: Every Parameters object must contain a Type member"),
        ({"A": {"Type": "Text", "Default": "a"}}, {}, "Parameters.A: Unrecognized parameter type"),
        ({"A": {"Type": "String", "Default": {"x": 1}}}, {}, "Parameters.A.Default: the value"),
        ({"A": {"Type": "String"}}, {"A": ["x"]}, "Parameters.A: the override must be a string"),
        (
            {"A": {"Type": "String", "Default": "qa", "AllowedValues": ["dev", "prod"]}},
            {},
            "Parameters.A: Parameter 'A' must be one of AllowedValues, not 'qa'",
        ),
        (
            {"A": {"Type": "String", "AllowedPattern": "[a-z]+"}},
            {"A": "Dev"},
            "Parameters.A: Parameter 'A' must match pattern [a-z]+, not 'Dev'",
        ),
        (
            {"A": {"Type": "String", "Default": "ab", "MinLength": 3}},
            {},
            "Parameters.A: Parameter 'A' must be at least 3 (MinLength), not 'ab'",
        ),
        (
            {"A": {"Type": "String", "Default": "abcd", "MaxLength": 3}},
            {},
            "Parameters.A: Parameter 'A' must be at most 3 (MaxLength), not 'abcd'",
        ),
        (
            {"A": {"Type": "Number", "Default": 0, "MinValue": 1}},
            {},
            "Parameters.A: Parameter 'A' must be at least 1 (MinValue), not '0'",
        ),
        (
            {"A": {"Type": "Number", "Default": "10.5", "MaxValue": "10"}},
            {},
            "Parameters.A: Parameter 'A' must be at most 10 (MaxValue), not '10.5'",
        ),
        (
            {"A": {"Type": "Number", "Default": "ten"}},
            {},
            "Parameters.A: Parameter 'A' must be a number, not 'ten'",
        ),
        (
            {"A": {"Type": "List<Number>", "Default": "1,x"}},
            {},
            "Parameters.A: Parameter 'A' must be a number, not 'x'",
        ),
        (
            {"A": {"Type": "CommaDelimitedList", "Default": "a,c", "AllowedValues": ["a", "b"]}},
            {},
            "Parameters.A: Parameter 'A' must be one of AllowedValues, not 'c'",
        ),
        (
            {
                "A": {
                    "Type": "String",
                    "Default": "x",
                    "AllowedPattern": "[0-9]+",
                    "ConstraintDescription": "digits only",
                }
            },
            {},
            "Parameters.A: Parameter 'A' failed to satisfy constraint: digits only",
        ),
        (
            {"A": {"Type": "String", "Default": "x", "AllowedValues": "x"}},
            {},
            "Parameters.A.AllowedValues: must be a list, not a str",
        ),
        (
            {"A": {"Type": "String", "Default": "x", "AllowedPattern": "("}},
            {},
            "Parameters.A.AllowedPattern: not a regular expression",
        ),
    ],
)
def test_invalid_parameters(declared: Any, overrides: dict[str, Any], message: str) -> None:
    with raises(message):
        intrinsics(parameters(declared), parameters=overrides)


def test_parameters_must_be_a_mapping() -> None:
    with raises("Parameters: must be a mapping of parameters, not a list"):
        intrinsics(parameters(["Stage"]))


# -- pseudo parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("eu-west-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_pseudo_parameters(
    template: dict[str, Any], region: str, partition: str, suffix: str
) -> None:
    options = {"region": region, "account": "111122223333", "stack_name": "shop"}
    names = ["Region", "AccountId", "StackName", "Partition", "URLSuffix", "NotificationARNs"]
    refs = {name: {"Ref": f"AWS::{name}"} for name in [*names, "StackId"]}
    resolved = intrinsics(template, **options).resolve(refs, "Outputs")
    stack_id = resolved.pop("StackId")
    assert resolved == {
        "Region": region,
        "AccountId": "111122223333",
        "StackName": "shop",
        "Partition": partition,
        "URLSuffix": suffix,
        "NotificationARNs": [],
    }
    pattern = rf"arn:{partition}:cloudformation:{region}:111122223333:stack/shop/[0-9a-f-]{{36}}"
    assert re.fullmatch(pattern, stack_id)
    assert intrinsics(template, **options).resolve(refs["StackId"], "Outputs") == stack_id


def test_no_value_leaves_out_its_key_or_item(template: dict[str, Any]) -> None:
    value = {
        "Kept": 1,
        "Gone": {"Ref": "AWS::NoValue"},
        "List": [1, {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, 2]}, 3],
    }
    original = copy.deepcopy(value)
    assert intrinsics(template).resolve(value, "Resources.Jobs.Properties") == {
        "Kept": 1,
        "List": [1, 3],
    }
    assert value == original
    assert intrinsics(template).resolve({"Ref": "AWS::NoValue"}, "Resources.Jobs") is None


# -- Ref, Fn::GetAtt, Fn::Sub ----------------------------------------------------------------------


def test_ref(template: dict[str, Any]) -> None:
    assert resolve(template, "!Ref Stage") == "dev"
    assert resolve(template, "!Ref BatchSize") == "10"  # a Number parameter is text
    assert resolve(template, "!Ref Owners") == ["alice", "bob"]
    assert resolve(template, "!Ref AWS::Region") == "us-east-1"
    assert resolve(template, "!Ref Uploads") == "uploads-bucket"


def test_get_att(template: dict[str, Any]) -> None:
    assert resolve(template, "!GetAtt Uploads.Arn") == "arn:aws:s3:::uploads-bucket"
    assert resolve(template, "!GetAtt [Jobs, QueueName]") == "jobs"
    assert resolve(template, "!GetAtt Site.Outputs.Url") == "https://example.com"
    assert resolve(template, "{Fn::GetAtt: Site.Outputs.Url}") == "https://example.com"
    text = "!GetAtt [Jobs, !If [IsProd, Arn, QueueName]]"
    assert resolve(template, text) == "jobs"


def test_sub(template: dict[str, Any]) -> None:
    text = '!Sub "${AWS::StackName}-${Stage}-${BatchSize}-${Uploads}-${Jobs.QueueName}-${!Literal}"'
    assert resolve(template, text) == "faaslib-dev-10-uploads-bucket-jobs-${Literal}"
    text = '!Sub ["${Queue}/${ Count }/${Stage}", {Queue: !GetAtt Jobs.Arn, Count: 3}]'
    assert resolve(template, text) == "arn:aws:sqs:us-east-1:123456789012:jobs/3/dev"
    assert resolve(template, "!Sub ${Site.Outputs.Url}/x") == "https://example.com/x"
    assert resolve(template, "!Sub plain") == "plain"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!Ref Nope", "Unresolved resource dependencies [Nope] in the Resources block"),
        ("!Ref [Stage]", "Ref takes a name, not a list"),
        ("!GetAtt Nope.Arn", "Fn::GetAtt names no resource 'Nope'"),
        ("!GetAtt Uploads.Nope", "Fn::GetAtt: resource 'Uploads' has no attribute 'Nope'"),
        ("!GetAtt Uploads", "Fn::GetAtt takes a list of 2 arguments"),
        ("!GetAtt [[Uploads], Arn]", "Fn::GetAtt takes a logical id, not a list"),
        ("!GetAtt [Uploads, [Arn]]", "Fn::GetAtt needs a string, not a list"),
        ("!Sub ${Nope}", "Unresolved resource dependencies [Nope]"),
        ("!Sub ${Nope.Arn}", "Fn::GetAtt names no resource 'Nope'"),
        ("!Sub ${Owners}", "Fn::Sub variable 'Owners' needs a string, not a list"),
        ("!Sub ${AWS::NoValue}", "Fn::Sub variable 'AWS::NoValue' needs a string, not AWS::"),
        ("!Sub [a, b]", "Fn::Sub takes a string and a mapping of variables"),
        ("!Sub [a]", "Fn::Sub takes a list of 2 arguments"),
    ],
)
def test_unresolved_references(template: dict[str, Any], text: str, message: str) -> None:
    with raises(f"Resources.Jobs.Properties.Value: {message}"):
        resolve(template, text)


def test_the_error_names_the_place_in_the_template(template: dict[str, Any]) -> None:
    properties = {"Tags": [{"Key": "a", "Value": {"Fn::GetAtt": ["Nope", "Arn"]}}]}
    with raises("Resources.Queue.Properties.Tags[0].Value: Fn::GetAtt names no resource 'Nope'"):
        intrinsics(template).resolve(properties, "Resources.Queue.Properties")


# -- strings and lists -----------------------------------------------------------------------------


def test_string_and_list_functions(template: dict[str, Any]) -> None:
    assert resolve(template, '!Join [":", [a, 1, true, !Ref Stage]]') == "a:1:true:dev"
    assert resolve(template, '!Join [",", !Ref Owners]') == "alice,bob"
    assert resolve(template, '!Join ["", [a, !Ref AWS::NoValue, b]]') == "ab"
    assert resolve(template, "!Select [1, [a, b, c]]") == "b"
    assert resolve(template, '!Select ["2", !GetAZs ""]') == "us-east-1c"
    assert resolve(template, "!Select [0, !Ref Owners]") == "alice"
    assert resolve(template, '!Split ["/", "a/b//c"]') == ["a", "b", "", "c"]
    assert resolve(template, '!Split [",", !Join [",", [x, y]]]') == ["x", "y"]
    assert resolve(template, "!Base64 dev") == "ZGV2"
    assert resolve(template, "{Fn::Base64: !Sub '${Stage}'}") == "ZGV2"
    assert resolve(template, "!GetAZs eu-west-1") == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert resolve(template, "{Fn::GetAZs: !Ref AWS::Region}")[0] == "us-east-1a"
    assert resolve(template, "!GetAZs ''", region="ap-south-1")[1] == "ap-south-1b"
    text = "!ToJsonString {Queue: !Ref Jobs, Sizes: [1, 2], Enabled: true}"
    expected = '{"Queue":"https://sqs.us-east-1.amazonaws.com/1/jobs","Sizes":[1,2],"Enabled":true}'
    assert resolve(template, text) == expected
    assert resolve(template, "!ToJsonString [!Ref Stage]") == '["dev"]'
    assert resolve(template, "!Length [a, b, !Ref AWS::NoValue]") == 2
    assert resolve(template, "{Fn::Length: !Ref Owners}") == 2


def test_find_in_map(template: dict[str, Any]) -> None:
    assert resolve(template, "!FindInMap [StageSettings, !Ref Stage, Memory]") == 128
    assert resolve(template, "!FindInMap [Accounts, !Ref AWS::AccountId, Alias]") == "sandbox"
    text = "!FindInMap [StageSettings, qa, Memory, {DefaultValue: 256}]"
    assert resolve(template, text) == 256
    text = "!FindInMap [Nope, a, b, {DefaultValue: [x]}]"
    assert resolve(template, text) == ["x"]
    override = {"parameters": {"Stage": "prod"}}
    assert resolve(template, "!FindInMap [StageSettings, !Ref Stage, Retention]", **override) == (
        1209600
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!Join [[a], [b]]", "Fn::Join's delimiter must be a string"),
        ('!Join ["", !Ref Stage]', "Fn::Join needs a list, not a str"),
        ('!Join ["", [{a: 1}]]', "Fn::Join needs a string, not a dict"),
        ("!Join [a]", "Fn::Join takes a list of 2 arguments"),
        ("!Select [3, [a, b]]", "Fn::Select cannot select nonexistent value at index 3"),
        ("!Select [-1, [a, b]]", "Fn::Select's index must be a whole number >= 0"),
        ("!Select [[0], [a]]", "Fn::Select needs a string, not a list"),
        ('!Split ["", abc]', "Fn::Split's delimiter must be a non-empty string"),
        ('!Split [",", [a]]', "Fn::Split needs a string, not a list"),
        ("!Base64 [a]", "Fn::Base64 needs a string, not a list"),
        ("!ToJsonString text", "Fn::ToJsonString needs a mapping or a list"),
        ("!Length text", "Fn::Length needs a list, not a str"),
        ("!FindInMap [StageSettings, qa, Memory]", "Fn::FindInMap: Mappings.StageSettings has no"),
        ("!FindInMap [Nope, a, b]", "Fn::FindInMap: Mappings has no key 'Nope'"),
        (
            "!FindInMap [StageSettings, dev, Memory, Extra]",
            "Fn::FindInMap's fourth argument is DefaultValue",
        ),
        ("!FindInMap [StageSettings, dev]", "Fn::FindInMap takes a list of 3 arguments"),
    ],
)
def test_malformed_functions(template: dict[str, Any], text: str, message: str) -> None:
    with raises(f"Resources.Jobs.Properties.Value: {message}"):
        resolve(template, text)


def test_find_in_map_of_a_malformed_mapping(template: dict[str, Any]) -> None:
    template["Mappings"]["StageSettings"]["dev"] = "flat"
    with raises("Value: Fn::FindInMap: Mappings.StageSettings.dev is not a mapping"):
        resolve(template, "!FindInMap [StageSettings, dev, Memory]")


def test_to_json_string_of_what_json_cannot_hold(template: dict[str, Any]) -> None:
    resolved = Intrinsics(template, ref=lambda name: object(), get_att=lambda r, a: None)
    with raises("Outputs.X: Fn::ToJsonString: Object of type object is not JSON serializable"):
        resolved.resolve({"Fn::ToJsonString": [{"Ref": "Uploads"}]}, "Outputs.X")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!ImportValue shared-vpc", "Fn::ImportValue cannot be resolved: it reads another stack"),
        ('!Cidr ["10.0.0.0/16", 4, 8]', "Fn::Cidr cannot be resolved"),
        ("!Transform {Name: AWS::Include}", "Fn::Transform cannot be resolved"),
        ("{Fn::Nope: 1}", "Fn::Nope is not an intrinsic function faaslib knows"),
    ],
)
def test_functions_one_process_cannot_resolve(
    template: dict[str, Any], text: str, message: str
) -> None:
    with raises(f"Resources.Jobs.Properties.Value: {message}"):
        resolve(template, text)


# -- conditions ------------------------------------------------------------------------------------


def test_conditions(template: dict[str, Any]) -> None:
    dev = intrinsics(template)
    assert [dev.condition(name) for name in template["Conditions"]] == [
        False,
        True,
        True,  # BatchSize "10" equals the YAML number 10, as text
        False,
        True,
    ]
    prod = intrinsics(template, parameters={"Stage": "prod", "BatchSize": "20"})
    assert [prod.condition(name) for name in template["Conditions"]] == [
        True,
        False,
        False,
        False,
        True,
    ]
    assert resolve(template, "!If [IsProd, !Ref Nope, small]") == "small"
    assert resolve(template, "!If [IsDev, [a, !Ref Stage], b]") == ["a", "dev"]
    assert resolve(template, "!Equals [[1, a], ['1', a]]") is True
    assert resolve(template, "!Equals [{a: [1]}, {a: ['1']}]") is True
    assert resolve(template, "!Not [!Equals [!Ref Uploads, uploads-bucket]]") is False
    assert resolve(template, "!Condition IsDev") is True
    # A one-key "Condition" that holds data is data, as in an IAM policy statement.
    statement = {"Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}
    assert intrinsics(template).resolve(statement, "X") == {
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    }


def test_conditions_are_evaluated_once(template: dict[str, Any]) -> None:
    resolved = intrinsics(template)
    assert resolved.condition("IsProd") is False
    template["Conditions"]["IsProd"] = {"Fn::Equals": ["a", "a"]}
    assert resolved.condition("IsProd") is False


@pytest.mark.parametrize(
    ("conditions", "name", "message"),
    [
        ({}, "Nope", "Conditions: the template has no condition 'Nope'"),
        (
            {"A": {"Condition": "B"}, "B": {"Fn::Not": [{"Condition": "A"}]}},
            "A",
            "Conditions.A: the condition depends on itself: A -> B -> A",
        ),
        ({"A": {"Ref": "Stage"}}, "A", "Conditions.A: the value must be a condition (Fn::"),
        ({"A": {"Fn::And": [{"Condition": "B"}]}, "B": True}, "A", "Conditions.A: Fn::And takes"),
        (
            {"A": {"Fn::Or": [{"Fn::Equals": ["a", "a"]}, "yes"]}},
            "A",
            "Conditions.A: Fn::Or's operand must be a condition (Fn::Equals, Fn::And,",
        ),
        ({"A": {"Fn::Not": [True, False]}}, "A", "Conditions.A: Fn::Not takes a list of 1"),
        ({"A": {"Fn::Equals": ["a"]}}, "A", "Conditions.A: Fn::Equals takes a list of 2"),
        ({"A": {"Fn::If": [["B"], True, False]}}, "A", "Conditions.A: a condition is named by"),
    ],
)
def test_invalid_conditions(
    template: dict[str, Any], conditions: dict[str, Any], name: str, message: str
) -> None:
    template["Conditions"] = conditions
    with raises(message):
        intrinsics(template).condition(name)


def test_fn_if_names_an_existing_condition(template: dict[str, Any]) -> None:
    with raises("Resources.Jobs.Properties.Value: the template has no condition 'Nope'"):
        resolve(template, "!If [Nope, a, b]")
    with raises("Resources.Jobs.Properties.Value: Fn::If takes a list of 3 arguments"):
        resolve(template, "!If [IsProd, a]")


def test_tags_other_libraries_register_on_pyyaml_are_not_read(tmp_path: Path) -> None:
    # The SAM translator registers CloudFormation's tags on yaml.SafeLoader for the whole
    # process; faaslib's loader keeps to its own, so an unknown tag is still an error.
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

    from faaslib.sam._template import _loader

    yaml_parse("A: !Ref B")  # registers its tags on yaml.SafeLoader, as `sam` does
    _loader.cache_clear()  # made again, after that registration
    try:
        path = tmp_path / "t.yaml"
        path.write_text("Resources:\n  A: !Nope x\n")
        with pytest.raises(TemplateError, match="could not determine a constructor"):
            load_template(path)
    finally:
        _loader.cache_clear()
