"""EFS for Lambda (``file_system=``): a local directory functions see at their mount path,
shared by their environments, in threads and in worker processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import faaslib
from faaslib import EFSMountFailureException, FileSystem, ValidationException

pytestmark = pytest.mark.skipif(
    not os.access("/mnt", os.W_OK), reason="mounting at /mnt/... needs write access to /mnt"
)


@pytest.fixture
def mount_path() -> Iterator[str]:
    """A mount path of this test's own, checked free after it."""
    path = f"/mnt/faaslib-test-{uuid.uuid4().hex[:12]}"
    yield path
    leftover = os.path.lexists(path)
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif leftover:
        os.rmdir(path)
    assert not leftover, f"{path} was left behind"


def linked_to(path: str) -> Path | None:
    """Where the link at ``path`` leads, or ``None`` when no link is there."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else None


def resolved(path: Path) -> Path:
    return path.resolve()


def write_note(event: dict[str, Any]) -> str:
    path = Path(event["mount"]) / event["name"]
    path.write_text(event["text"], encoding="utf-8")
    return str(path)


def read_note(event: dict[str, Any]) -> str:
    text: str = (Path(event["mount"]) / event["name"]).read_text(encoding="utf-8")
    return text


def registry_sharing(file_system: FileSystem) -> faaslib.Registry:
    registry = faaslib.Registry()
    registry.function(write_note, file_system=file_system)
    registry.function(read_note, file_system=file_system, isolation="process")
    return registry


async def test_functions_share_the_file_system_at_its_mount_path(
    tmp_path: Path, mount_path: str
) -> None:
    data = FileSystem(tmp_path / "efs", mount_path=mount_path)
    note = {"mount": mount_path, "name": "note.txt", "text": "kept"}
    async with faaslib.Invoker(registry_sharing(data)) as invoker:
        written = await invoker.invoke("write_note", note)
        assert written.json() == f"{mount_path}/note.txt"
        # Another function, in a worker process of its own, reads what the first wrote.
        assert (await invoker.invoke("read_note", note)).json() == "kept"
        assert linked_to(mount_path) == resolved(tmp_path / "efs")
    # The files are in the file system's directory; the mount is gone with the invoker.
    assert (tmp_path / "efs" / "note.txt").read_text(encoding="utf-8") == "kept"
    assert linked_to(mount_path) is None


async def test_the_mount_is_there_before_init_runs(tmp_path: Path, mount_path: str) -> None:
    (tmp_path / "settings.txt").write_text("from the file system", encoding="utf-8")
    registry = faaslib.Registry()

    def load() -> str:
        return Path(mount_path, "settings.txt").read_text(encoding="utf-8")

    @registry.function(init=load, file_system=FileSystem(tmp_path, mount_path=mount_path))
    def settings(event: dict[str, Any], context: faaslib.Context) -> Any:
        return context.init_result

    async with faaslib.Invoker(registry) as invoker:
        assert (await invoker.invoke("settings", {})).json() == "from the file system"


async def test_invokers_hold_a_mount_until_the_last_closes(tmp_path: Path, mount_path: str) -> None:
    registry = registry_sharing(FileSystem(tmp_path, mount_path=mount_path))
    note = {"mount": mount_path, "name": "n", "text": "x"}
    async with faaslib.Invoker(registry) as first:
        await first.invoke("write_note", note)
        async with faaslib.Invoker(registry) as second:
            await second.invoke("write_note", note)
        assert linked_to(mount_path) == resolved(tmp_path)  # the first invoker still uses it
        assert (await first.invoke("write_note", note)).function_error is None
    assert linked_to(mount_path) is None


async def test_a_mount_path_taken_fails_the_invocation_as_lambda_does(
    tmp_path: Path, mount_path: str
) -> None:
    os.mkdir(mount_path)  # not a file system faaslib mounted: not to be taken over
    registry = registry_sharing(FileSystem(tmp_path, mount_path=mount_path))

    @registry.function
    def plain(event: dict[str, Any]) -> str:
        return "ok"

    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(EFSMountFailureException) as raised:
            await invoker.invoke("write_note", {"mount": mount_path, "name": "n", "text": "x"})
        assert raised.value.status_code == 403
        assert raised.value.error_type == "EFSMountFailureException"
        assert mount_path in raised.value.message
        assert os.listdir(mount_path) == []  # the handler never ran
        assert (await invoker.invoke("plain", {})).json() == "ok"  # the invoker goes on
    assert linked_to(mount_path) is None  # left as it was: the directory
    assert resolved(Path(mount_path)) == Path(mount_path)
    os.rmdir(mount_path)


async def test_another_file_system_at_the_same_mount_path_is_refused(
    tmp_path: Path, mount_path: str
) -> None:
    registry = faaslib.Registry()
    registry.function(write_note, file_system=FileSystem(tmp_path / "a", mount_path=mount_path))
    registry.function(read_note, file_system=FileSystem(tmp_path / "b", mount_path=mount_path))
    note = {"mount": mount_path, "name": "n", "text": "x"}
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("write_note", note)
        with pytest.raises(EFSMountFailureException, match="mount path of"):
            await invoker.invoke("read_note", note)
    assert (tmp_path / "a" / "n").exists()


async def test_a_link_left_dangling_by_a_dead_process_is_replaced(
    tmp_path: Path, mount_path: str
) -> None:
    os.symlink(tmp_path / "gone", mount_path)  # a mount whose directory no longer exists
    registry = registry_sharing(FileSystem(tmp_path / "efs", mount_path=mount_path))
    async with faaslib.Invoker(registry) as invoker:
        note = {"mount": mount_path, "name": "n", "text": "x"}
        assert (await invoker.invoke("write_note", note)).function_error is None
    assert (tmp_path / "efs" / "n").exists()


def test_the_mount_path_follows_lambdas_pattern(tmp_path: Path) -> None:
    for bad in ("/data", "/mnt/", "/mnt/a/b", "mnt/efs", "/mnt/" + "x" * 160):
        with pytest.raises(ValidationException, match="localMountPath"):
            FileSystem(tmp_path, mount_path=bad)
    with pytest.raises(ValidationException, match="fileSystemConfigs"):
        faaslib.Registry().function(write_note, file_system=str(tmp_path))  # type: ignore[call-overload]


def test_a_file_system_has_an_access_point_arn(tmp_path: Path) -> None:
    data = FileSystem(tmp_path, mount_path="/mnt/data", name="fsap-0123456789abcdef0")
    assert data.arn("eu-west-1", "111122223333") == (
        "arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-0123456789abcdef0"
    )
    assert FileSystem(tmp_path).name.startswith("fsap-")
    assert FileSystem(tmp_path) == FileSystem(str(tmp_path))  # the same directory and path


TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Files:
    Type: AWS::EFS::FileSystem
  AccessPoint:
    Type: AWS::EFS::AccessPoint
    Properties:
      FileSystemId: !Ref Files
  Notes:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      FileSystemConfigs:
        - Arn: !GetAtt AccessPoint.Arn
          LocalMountPath: MOUNT
"""
CODE = """\
import os


def handler(event, context):
    with open(os.path.join(event["mount"], "seen"), "a") as notes:
        notes.write(event["text"])
    return sorted(os.listdir(event["mount"]))
"""


async def test_a_templates_file_system_configs_mount_a_directory_beside_it(
    tmp_path: Path, mount_path: str
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(CODE, encoding="utf-8")
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE.replace("MOUNT", mount_path), encoding="utf-8")
    registry = faaslib.Registry.from_template(template)  # no warning: EFS is mounted
    data = registry.get("Notes").file_system
    assert data == FileSystem(tmp_path / ".faaslib" / "efs" / "AccessPoint", mount_path)
    async with faaslib.Invoker(registry) as invoker:
        answer = await invoker.invoke("Notes", {"mount": mount_path, "text": "one"})
        assert answer.json() == ["seen"], answer.payload
    assert (tmp_path / ".faaslib" / "efs" / "AccessPoint" / "seen").read_text() == "one"


def test_a_file_system_exports_as_an_access_point_aws_tools_accept(tmp_path: Path) -> None:
    from test_sam_export import lint_errors, transformed

    from faaslib.sam._export import export_sam

    data = FileSystem(tmp_path, mount_path="/mnt/data")
    registry = faaslib.Registry()
    registry.function(write_note, file_system=data)
    registry.function(read_note, file_system=data, isolation="process")
    exported = export_sam(registry, "app:registry")
    resources = exported.template["Resources"]
    assert resources["DataFileSystem"] == {"Type": "AWS::EFS::FileSystem", "Properties": {}}
    assert resources["DataAccessPoint"]["Properties"] == {"FileSystemId": {"Ref": "DataFileSystem"}}
    configs = [
        resource["Properties"]["FileSystemConfigs"]
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    expected = [{"Arn": {"Fn::GetAtt": ["DataAccessPoint", "Arn"]}, "LocalMountPath": "/mnt/data"}]
    assert configs == [expected, expected]  # one file system, shared
    assert any("needs a VpcConfig" in warning for warning in exported.warnings)
    assert lint_errors(exported.template) == []
    assert lint_errors(transformed(exported.template)) == []


async def test_an_event_whose_mount_fails_is_a_failed_attempt_naming_lambdas_error(
    tmp_path: Path, mount_path: str
) -> None:
    os.mkdir(mount_path)
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()
    registry.function(
        write_note,
        file_system=FileSystem(tmp_path, mount_path=mount_path),
        max_retry_attempts=0,
        on_failure=failures.append,
    )
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("write_note", {"mount": mount_path}, "Event")
        await invoker.drain()
    os.rmdir(mount_path)
    (record,) = failures
    assert record["responsePayload"]["errorType"] == "EFSMountFailureException"
    assert mount_path in record["responsePayload"]["errorMessage"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
