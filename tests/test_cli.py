"""The ``faaslib`` command, run as users run it: a real process (``python -m faaslib``, and
the installed console script), in a project folder holding the application's module."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from faaslib._cli import main

APP = textwrap.dedent(
    """
    import pydantic
    import faaslib

    registry = faaslib.Registry()
    not_a_registry = 42


    class Order(pydantic.BaseModel):
        id: int
        items: list[str] = []


    @registry.function(memory_size=256, timeout=10, events=[faaslib.Schedule("rate(1 hour)")])
    def total(event: Order) -> dict:
        print(f"order {event.id}")
        return {"id": event.id, "count": len(event.items)}


    @registry.function
    def fails(event: dict) -> None:
        raise ValueError("nope")
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "shop.py").write_text(APP, encoding="utf-8")
    return tmp_path


class Done(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


Run = Callable[..., Done]


@pytest.fixture(params=["python -m faaslib", "main() in process"])
def run(
    request: pytest.FixtureRequest, project: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Run]:
    """The command, run in the project folder: as a real process, and in this one (where
    coverage sees it)."""
    if request.param == "python -m faaslib":

        def in_a_process(*args: str) -> Done:
            done = subprocess.run(
                [sys.executable, "-m", "faaslib", *args],
                cwd=project, capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            return Done(done.returncode, done.stdout, done.stderr)

        yield in_a_process
        return
    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project))

    def in_this_process(*args: str) -> Done:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exit:  # argparse's own refusals
                status = int(exit.code or 0)
        return Done(status, out.getvalue(), err.getvalue())

    yield in_this_process
    sys.modules.pop("shop", None)  # the next project's module is its own


def test_list(run: Run, project: Path) -> None:
    done = run("list", "shop:registry")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "MEMORY", "TIMEOUT", "TRIGGERS"]
    assert lines[1].split() == ["total", "256", "MB", "10", "s", "Schedule"]
    assert lines[2].split() == ["fails", "128", "MB", "3", "s", "-"]


def test_invoke_prints_the_result_and_the_report_line(run: Run, project: Path) -> None:
    done = run("invoke", "shop:registry", "total", "--payload", '{"id": 7}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"id": 7, "count": 0}
    printed, report = done.stderr.splitlines()
    assert printed == "order 7"
    assert report.startswith("REPORT RequestId: ")
    assert "Memory Size: 256 MB" in report


def test_invoke_with_the_log_tail_and_a_payload_file(run: Run, project: Path) -> None:
    (project / "event.json").write_text('{"id": 8, "items": ["a"]}')
    done = run("invoke", "shop:registry", "total", "--payload-file", "event.json",
        "--log-type", "Tail",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"id": 8, "count": 1}
    assert "START RequestId: " in done.stderr
    assert "order 8\n" in done.stderr


def test_a_function_error_exits_1_with_the_error_document(run: Run, project: Path) -> None:
    done = run("invoke", "shop:registry", "fails")
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorMessage"] == "nope"


def test_event_and_dry_run(run: Run, project: Path) -> None:
    done = run("invoke", "shop:registry", "total", "--payload", '{"id": 1}',
        "--invocation-type", "Event",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr.splitlines()[0] == "order 1"  # the Event ran before the command ended
    assert done.stderr.splitlines()[1].startswith("StatusCode: 202")
    dry = run("invoke", "shop:registry", "total", "--payload", '{"id": 2}',
        "--invocation-type", "DryRun",
    )  # fmt: skip
    assert (dry.returncode, dry.stdout) == (0, "")
    assert dry.stderr.startswith("StatusCode: 204")  # validated, nothing ran


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["list", "shop"], "'shop' is not 'package.module:attribute'"),
        (["list", "no_such_module:registry"], "No module named 'no_such_module'"),
        (["list", "shop:not_a_registry"], "'shop:not_a_registry' is a int, not a faaslib.Registry"),
        (["invoke", "shop:registry", "nope"], "ResourceNotFoundException: Function not found"),
        (
            ["invoke", "shop:registry", "total", "--payload", "{bad"],
            "InvalidRequestContentException: Could not parse request body into json",
        ),
        (["invoke", "shop:registry", "total", "--payload-file", "missing.json"], "cannot read"),
        (["schema", "shop:registry", "nope"], "no function 'nope' in shop:registry"),
    ],
)
def test_mistakes_get_a_clear_message_and_exit_status_2(
    run: Run, args: list[str], says: str
) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_schema(run: Run, project: Path) -> None:
    done = run("schema", "shop:registry", "total")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["title"] == "Order"
    assert schema["required"] == ["id"]


def test_the_console_script(project: Path) -> None:
    script = shutil.which("faaslib", path=str(Path(sys.executable).parent))
    assert script is not None, "pip install -e '.[test]' installs the faaslib command"
    done = subprocess.run(
        [script, "list", "shop:registry"], cwd=project, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "total" in done.stdout
