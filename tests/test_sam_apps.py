"""The sample AWS SAM applications of ``examples/sam/``: each template passes AWS's own tools
(aws-sam-translator's transform, cfn-lint), and each application runs in faaslib from its
template, its code as written for Lambda."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_sam_export import lint_errors, transformed

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "examples" / "sam"
API = APPS / "api" / "template.yaml"
WORKER = APPS / "queue_worker" / "template.yaml"
JOB = APPS / "scheduled_job" / "template.yaml"
TEMPLATES = {"api": API, "queue_worker": WORKER, "scheduled_job": JOB}


def sam_template(path: Path) -> dict[str, Any]:
    """The template as JSON's data, its short-form intrinsics (``!Ref``) in their long form."""
    from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

    result: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return result


# -- AWS's tools -------------------------------------------------------------------------------


@pytest.mark.parametrize("app", TEMPLATES)
def test_the_translator_transforms_the_template(app: str) -> None:
    template = sam_template(TEMPLATES[app])
    result = transformed(template)
    kinds = {resource["Type"] for resource in result["Resources"].values()}
    assert "AWS::Lambda::Function" in kinds
    assert not any(kind.startswith("AWS::Serverless::") for kind in kinds)
    assert lint_errors(result) == []


@pytest.mark.parametrize("app", TEMPLATES)
def test_cfn_lint_finds_no_error(app: str) -> None:
    assert lint_errors(sam_template(TEMPLATES[app])) == []


def test_the_templates_use_what_real_ones_do() -> None:
    """Each has parameters with defaults, Globals, intrinsics in the environment and Outputs;
    the scheduled job's rule is a plain EventBridge rule with its Lambda permission."""
    for path in TEMPLATES.values():
        template = sam_template(path)
        assert all("Default" in p for p in template["Parameters"].values())
        assert "Function" in template["Globals"]
        assert template["Outputs"]
    job = sam_template(JOB)["Resources"]
    target = job["NightlyReportRule"]["Properties"]["Targets"][0]
    assert target["Arn"] == {"Fn::GetAtt": ["ReportFunction", "Arn"]}
    assert job["ReportFunctionInvokePermission"]["Type"] == "AWS::Lambda::Permission"
