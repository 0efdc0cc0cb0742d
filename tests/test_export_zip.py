"""``faaslib export zip``: the deployment package of ``examples/orders.py`` runs its exported
functions under awslambdaric from the unzipped package alone (an isolated interpreter that
sees no site-packages), the same inputs give the same bytes, and mistakes exit with status 2.

pip installs from PyPI; runtime python3.11 on x86_64 is this machine's, so Lambda's wheels
run here too.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faaslib._cli import main
from faaslib._locate import locate_registry
from faaslib.sam._export import export_sam
from faaslib.sam._package import (
    UNZIPPED_LIMIT,
    ZIPPED_LIMIT,
    PackageError,
    _layer,
    _size_warnings,
    build_zip,
)

HERE = Path(__file__).parent
EXAMPLES = HERE.parent / "examples"
HARNESS = HERE / "aws_runtime_harness.py"
REFERENCE = "examples.orders:registry"
RUNTIME = "python3.11"
EPOCH = (1980, 1, 1, 0, 0, 0)

#: Run the shared harness in an interpreter whose path is the package and awslambdaric only,
#: then write down where the modules it used came from.
LAMBDA = """
import json, runpy, sys
task, runtime, harness, handler, out, report = sys.argv[1:]
sys.path[:0] = [task, runtime]
sys.argv = [harness, handler, out]
runpy.run_path(harness, run_name="__main__")
names = ["faaslib", "pydantic", "pydantic_core", "anyio", "typing_extensions", "examples.orders"]
files = {name: sys.modules[name].__file__ for name in names}
with open(report, "w") as file:
    json.dump({"path": sys.path, "files": files}, file)
"""


@dataclass
class App:
    code: Path
    zip: Path
    data: bytes
    unzipped: Path


def make_code(root: Path) -> Path:
    """The application: the example, package data, tests, a tool, and what must not ship."""
    code = root / "app"
    (code / "examples").mkdir(parents=True)
    shutil.copy(EXAMPLES / "orders.py", code / "examples" / "orders.py")
    (code / "examples" / "prices.json").write_text('{"apple": 0.5}', encoding="utf-8")
    (code / "tests").mkdir()
    (code / "tests" / "test_orders.py").write_text("", encoding="utf-8")
    (code / "tool.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (code / "tool.sh").chmod(0o700)
    (code / "requirements.txt").write_text("six==1.17.0\n", encoding="utf-8")
    (code / "examples" / "loop").symlink_to(code)  # walked once
    (root / "shared.txt").write_text("shared", encoding="utf-8")
    (code / "shared.txt").symlink_to(root / "shared.txt")  # shipped as a file
    for junk in ("examples/__pycache__/orders.cpython-311.pyc", "stale.pyc", ".git/HEAD"):
        (code / junk).parent.mkdir(parents=True, exist_ok=True)
        (code / junk).write_bytes(b"junk")
    for venv in (".venv", "env"):  # "env" is a virtual environment by its pyvenv.cfg alone
        (code / venv / "lib").mkdir(parents=True)
        (code / venv / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
        (code / venv / "lib" / "six.py").write_text("", encoding="utf-8")
    return code


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    """The example's package, written into its own code directory (so a second build must
    leave it out)."""
    root = tmp_path_factory.mktemp("export-zip")
    code = make_code(root)
    output = code / "function.zip"
    report = build_zip(
        REFERENCE, output, code_dir=code, requirements=code / "requirements.txt", runtime=RUNTIME
    )
    assert report.path == str(output)
    assert report.size == output.stat().st_size
    assert report.warnings == ()
    unzipped = root / "task"
    with zipfile.ZipFile(output) as archive:
        archive.extractall(unzipped)
        assert report.files == sum(not name.endswith("/") for name in archive.namelist())
    return App(code, output, output.read_bytes(), unzipped)


# -- the package runs on Lambda's runtime code, from itself alone ------------------------------


def awslambdaric_only(root: Path) -> Path:
    """A directory with awslambdaric and its dependencies (what Lambda's runtime brings), and
    nothing else of this environment's site-packages."""
    runtime = root / "runtime"
    runtime.mkdir()
    pending, seen = ["awslambdaric"], set[str]()
    while pending:
        distribution = importlib.metadata.distribution(pending.pop())
        for requirement in distribution.requires or []:
            name = re.match(r"[A-Za-z0-9._-]+", requirement)
            assert name is not None
            pending.append(name.group())
        for top in {path.parts[0] for path in distribution.files or []} - seen:
            seen.add(top)
            if top.endswith(".dist-info") or top in ("..", "__pycache__"):
                continue
            (runtime / top).symlink_to(str(distribution.locate_file(top)))
    return runtime


def run_on_lambda(
    task: Path, runtime: Path, function: dict[str, Any], event: Any, out: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One invocation of the exported function as Lambda runs it: its Handler and the
    template's Environment, awslambdaric's bootstrap, ``sys.path`` the package and the
    runtime. Return the runtime's post and where the modules came from."""
    properties = function["Properties"]
    variables = properties["Environment"]["Variables"]
    name = variables["FAASLIB_FUNCTION"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin"),
        **variables,
        "_HANDLER": properties["Handler"],
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties["MemorySize"]),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/05/[$LATEST]0123456789abcdef",
        "HARNESS_FUNCTION_ARN": f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
    }
    posts, report = out / f"{name}.jsonl", out / f"{name}.json"
    process = subprocess.run(
        [sys.executable, "-I", "-S", "-c", LAMBDA, str(task), str(runtime), str(HARNESS),
         properties["Handler"], str(posts), str(report)],
        input=json.dumps([{"request_id": "r-1", "payload": json.dumps(event)}]),
        env=env, cwd=out, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    records = [json.loads(line) for line in posts.read_text(encoding="utf-8").splitlines()]
    return records[-1], json.loads(report.read_text(encoding="utf-8"))


@pytest.fixture
def template(app: App) -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(app.code))
        registry = locate_registry(REFERENCE)
        yield export_sam(registry, REFERENCE, code_uri=str(app.zip), runtime=RUNTIME).template
    for module in ("examples.orders", "examples"):
        sys.modules.pop(module, None)


ORDER = {"order_id": "o-1", "customer": "c", "lines": [{"sku": "apple", "quantity": 2}]}


def test_the_package_runs_the_exported_functions_by_itself(
    app: App, template: dict[str, Any], tmp_path: Path
) -> None:
    runtime = awslambdaric_only(tmp_path)
    resources = template["Resources"]
    runs = [(resources["QuoteOrderFunction"], ORDER), (resources["PlaceOrderFunction"], ORDER)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(
                lambda run: run_on_lambda(app.unzipped, runtime, run[0], run[1], tmp_path), runs
            )
        )
    (quote, quoted), (receipt, placed) = results
    assert quote["kind"] == "result", quote
    assert json.loads(quote["payload"]) == {"order_id": "o-1", "total": 1.0, "available": True}
    assert receipt["kind"] == "result", receipt
    assert json.loads(receipt["payload"])["request_id"] == "r-1"  # async, through the entry point
    for where in (quoted, placed):
        assert where["path"][:2] == [str(app.unzipped), str(runtime)]
        assert not [entry for entry in where["path"] if "-packages" in entry]
        for name, file in where["files"].items():
            assert Path(file).is_relative_to(app.unzipped), name


# -- the bytes ---------------------------------------------------------------------------------


def test_the_same_inputs_give_the_same_bytes(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command rebuilds the package over the first one, in the code directory it
    packages: it leaves its own output out, so the bytes are the same."""
    monkeypatch.syspath_prepend(str(app.code))
    argv = ["export", "zip", REFERENCE, "-o", str(app.zip), "--code-dir", str(app.code),
            "--requirements", str(app.code / "requirements.txt"), "--runtime", RUNTIME]  # fmt: skip
    assert main(argv) == 0
    assert app.zip.read_bytes() == app.data
    err = capsys.readouterr().err
    assert re.fullmatch(
        rf"wrote {re.escape(str(app.zip))}: [\d.]+ MB zipped, [\d.]+ MB unzipped, \d+ files\n", err
    )


def test_what_ships_and_what_is_left_out(app: App) -> None:
    with zipfile.ZipFile(app.zip) as archive:
        names = archive.namelist()
    assert names == sorted(names)
    files = set(names)
    shipped = {
        "examples/orders.py",
        "examples/prices.json",  # package data
        "tests/test_orders.py",
        "requirements.txt",
        "tool.sh",
        "shared.txt",
        "six.py",  # --requirements
        "faaslib/aws/bootstrap.py",
        "faaslib/py.typed",
        f"faaslib-{importlib.metadata.version('faaslib')}.dist-info/METADATA",
        "typing_extensions.py",
        "anyio/__init__.py",
        "pydantic/__init__.py",
        "pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so",  # Lambda's wheel
    }
    assert shipped <= files
    left_out = [
        name
        for name in names
        if name.startswith((".git/", ".venv/", "env/", "bin/", "function.zip", "examples/loop"))
        or "__pycache__" in name
        or name.endswith(".pyc")
    ]
    assert left_out == []


def test_a_later_layer_replaces_a_top_level_name_whole() -> None:
    """The code directory's copy of a package replaces the installed one, never mixed."""
    entries: dict[str, bytes | Path] = {"pkg/a.py": b"old", "pkg/b.py": b"old", "m.py": b"m"}
    _layer(entries, {"pkg/a.py": b"new"})
    assert entries == {"pkg/a.py": b"new", "m.py": b"m"}


def test_dates_and_modes(app: App) -> None:
    with zipfile.ZipFile(app.zip) as archive:
        infos = archive.infolist()
    assert {info.date_time for info in infos} == {EPOCH}
    modes = {info.filename: info.external_attr >> 16 for info in infos}
    assert modes["faaslib/"] == stat.S_IFDIR | 0o755
    assert modes["faaslib/aws/bootstrap.py"] == stat.S_IFREG | 0o644
    assert modes["tool.sh"] == stat.S_IFREG | 0o755  # executable here, so there too
    assert {mode & 0o777 for mode in modes.values()} == {0o644, 0o755}
    assert (app.unzipped / "six.py").stat().st_mode & 0o777 == 0o644


def test_arm64_gets_lambda_wheels_for_graviton(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """python3.12 on arm64: pydantic-core's aarch64 build, and a warning that pip read the
    environment markers for this Python, not the runtime's."""
    monkeypatch.chdir(app.code)  # the default --code-dir
    monkeypatch.syspath_prepend(str(app.code))
    output = tmp_path / "function.zip"
    argv = ["export", "zip", REFERENCE, "-o", str(output), "--architecture", "arm64"]
    assert main(argv) == 0
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())
    assert "pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so" in names
    assert "examples/orders.py" in names
    assert "six.py" not in names  # no --requirements
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    warned = "warning: pip read the requirements' environment markers" in capsys.readouterr().err
    assert warned == (here != "3.12")


# -- mistakes ----------------------------------------------------------------------------------


def test_a_requirement_without_a_wheel_for_lambda_exits_with_status_2(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docopt is published as source only: Lambda cannot build it, so pip finds nothing."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("docopt==0.6.2\n", encoding="utf-8")
    output = tmp_path / "function.zip"
    monkeypatch.syspath_prepend(str(app.code))
    argv = ["export", "zip", REFERENCE, "-o", str(output), "--code-dir", str(app.code),
            "--requirements", str(requirements), "--runtime", RUNTIME]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        "no wheel of 'docopt==0.6.2' for Lambda's python3.11 on x86_64 (manylinux, up to glibc 2.26)"
        in err
    )
    assert "Lambda cannot build it from source" in err
    assert not output.exists()
    assert not list(tmp_path.glob("*.partial"))


def test_a_conflict_with_faaslib_s_dependencies_names_pip_s_error(app: App, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pydantic==1.10.13\n", encoding="utf-8")
    with pytest.raises(PackageError, match="pip could not install the dependencies") as caught:
        build_zip(
            REFERENCE,
            tmp_path / "function.zip",
            code_dir=app.code,
            requirements=requirements,
            runtime=RUNTIME,
        )
    assert "pydantic==1.10.13" in str(caught.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no_such_module:registry"], "no_such_module"),
        (["examples.orders:nothing"], "nothing"),
        ([REFERENCE, "--runtime", "nodejs22.x"], "'nodejs22.x' is not a Python runtime"),
        ([REFERENCE, "--runtime", "python3.9"], "python3.10 or newer"),
        ([REFERENCE, "--requirements", "/no/such/requirements.txt"], "does not exist"),
        ([REFERENCE, "-o", "/no/such/dir/function.zip"], "cannot write '/no/such/dir/function"),
        ([REFERENCE, "-o", "CODE"], "is a directory"),
    ],
)
def test_mistakes_exit_with_status_2(
    app: App,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.syspath_prepend(str(app.code))
    output = ["-o", str(app.code.parent / "unused.zip")]
    argv = [str(app.code) if arg == "CODE" else arg for arg in argv]
    assert main(["export", "zip", *output, "--code-dir", str(app.code), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (app.code.parent / "unused.zip").exists()


def test_the_code_directory_must_hold_the_registry(app: App, tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no package 'json' or module 'json.py'"):
        build_zip("json:registry", tmp_path / "f.zip", code_dir=app.code)
    with pytest.raises(PackageError, match="not 'package.module:attribute'"):
        build_zip("examples.orders", tmp_path / "f.zip", code_dir=app.code)
    with pytest.raises(PackageError, match="is not a directory"):
        build_zip(REFERENCE, tmp_path / "f.zip", code_dir=tmp_path / "missing")
    with pytest.raises(PackageError, match="'sparc' is not Lambda's x86_64 or arm64"):
        build_zip(REFERENCE, tmp_path / "f.zip", code_dir=app.code, architecture="sparc")


def test_sizes_over_lambda_limits_are_warned() -> None:
    assert _size_warnings(ZIPPED_LIMIT, UNZIPPED_LIMIT) == []
    zipped, unzipped = _size_warnings(ZIPPED_LIMIT + 1, UNZIPPED_LIMIT + 1)
    assert "over Lambda's 50 MB limit for a direct upload" in zipped
    assert "over Lambda's 250 MB limit" in unzipped
