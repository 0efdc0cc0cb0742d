"""faaslib's pytest plugin, run by pytest itself (``pytester``) on test files a user writes."""

from __future__ import annotations

import textwrap

import pytest

# pytester's in-process runs unload the modules first imported inside them; PyYAML's C part
# cannot be unloaded, and a PyYAML imported again beside it breaks every later YAML parse
# (cfn-lint's). Imported here, before any run, it stays.
import yaml  # noqa: F401

APP = """
import faaslib

registry = faaslib.Registry()
FAILED = []


@registry.function
def double(event: dict) -> dict:
    return {"value": event["value"] * 2}


@registry.function(max_retry_attempts=1, on_failure=FAILED.append)
def charge(event: dict) -> dict:
    if event.get("declined"):
        raise ValueError("card declined")
    return {"charged": event["amount"]}


@registry.function(max_retry_attempts=0)
def lonely(event: dict) -> None:
    raise RuntimeError("no one listens")
"""

#: Options of every inner run: pytest-asyncio (if installed) stays out of anyio's way. anyio
#: runs each async test on every backend installed (asyncio and trio here): two outcomes each.
ARGS = ("-p", "no:asyncio", "-p", "no:cacheprovider")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(app=APP)
    pytester.makeini("[pytest]\nfaaslib_registry = app:registry\n")
    return pytester


def run(pytester: pytest.Pytester, test: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(test))
    return pytester.runpytest(*ARGS, *args)


def test_an_async_test_gets_an_open_invoker_over_the_ini_registry(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
        import pytest

        @pytest.mark.anyio
        async def test_double(faaslib_invoker, faaslib_history):
            answer = await faaslib_invoker.invoke("double", {"value": 21})
            assert answer.json() == {"value": 42}
            (run,) = faaslib_history.of("double")
            assert run.payload == b'{"value":21}'
        """,
    )
    result.assert_outcomes(passed=2)


def test_retries_pass_in_no_time_on_the_virtual_clock(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import pytest
        import app

        @pytest.mark.anyio
        @pytest.mark.faaslib(expect_event_failures=True)
        async def test_retried_then_given_up(faaslib_invoker, faaslib_clock, faaslib_history):
            await faaslib_invoker.invoke("charge", {"declined": True}, "Event")
            await faaslib_invoker.drain()  # the first attempt failed: its retry waits on the clock
            assert [i.ended for i in faaslib_history.of("charge")] == ["retry"]
            faaslib_clock.advance(60)  # Lambda's first retry delay, passed at once
            await faaslib_invoker.drain()
            assert [i.ended for i in faaslib_history.of("charge")] == ["retry", "on_failure"]
            assert app.FAILED[-1]["requestContext"]["condition"] == "RetriesExhausted"
        """,
    )
    result.assert_outcomes(passed=2)


def test_an_unexpected_event_failure_fails_the_test_with_its_error(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
        import pytest

        @pytest.mark.anyio
        @pytest.mark.faaslib(event_workers=2)
        async def test_forgets_the_failure(faaslib_invoker):
            await faaslib_invoker.invoke("lonely", {}, "Event")
        """,
    )
    result.assert_outcomes(passed=2, errors=2)  # the test ran; its teardown failed
    result.stdout.fnmatch_lines(
        [
            "*1 Event invocation(s) failed for good:*",
            '*lonely * (attempt 1, then dropped): {"errorMessage":"no one listens"*',
            "*expect_event_failures=True*",
        ]
    )


def test_an_event_too_old_to_run_fails_the_test_too(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import pytest

        @pytest.mark.anyio
        async def test_lets_it_expire(faaslib_invoker, faaslib_clock):
            await faaslib_invoker.invoke("double", {"value": 1}, "Event")
            faaslib_clock.advance(6 * 3600 + 1)
        """,
    )
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(["*double * (never run: EventAgeExceeded, then dropped)*"])


def test_declared_faults_reach_the_users_code(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import faaslib
        import pytest

        @pytest.mark.anyio
        async def test_resilience(faaslib_invoker, faaslib_faults):
            faaslib_faults.throttle("double")
            faaslib_faults.timeout("double")
            with pytest.raises(faaslib.TooManyRequestsException):
                await faaslib_invoker.invoke("double", {"value": 1})
            timed_out = await faaslib_invoker.invoke("double", {"value": 1})
            assert timed_out.json()["errorType"] == "Sandbox.Timedout"
            assert (await faaslib_invoker.invoke("double", {"value": 1})).json() == {"value": 2}
        """,
    )
    result.assert_outcomes(passed=2)


def test_a_sync_test_gets_a_blocking_invoker_and_the_marker_picks_the_registry(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(app=APP)
    result = run(
        pytester,
        """
        import pytest
        import app

        @pytest.mark.faaslib(registry=app.registry, concurrency_limit=7)
        def test_sync(faaslib_blocking_invoker):
            assert faaslib_blocking_invoker.invoke("double", {"value": 2}).json() == {"value": 4}

        @pytest.mark.faaslib(registry="app:registry")
        def test_by_reference(faaslib_registry):
            assert "charge" in faaslib_registry
        """,
    )
    result.assert_outcomes(passed=2)


def test_a_sam_template_can_be_the_registry(pytester: pytest.Pytester) -> None:
    pytester.mkdir("src")
    (pytester.path / "src" / "app.py").write_text(
        "def handler(event, context):\n    return {'seen': event}\n"
    )
    (pytester.path / "template.yaml").write_text(
        textwrap.dedent(
            """
            Transform: AWS::Serverless-2016-10-31
            Resources:
              Echo:
                Type: AWS::Serverless::Function
                Properties:
                  Runtime: python3.12
                  CodeUri: src/
                  Handler: app.handler
            """
        )
    )
    pytester.makeini("[pytest]\nfaaslib_registry = template.yaml\n")
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.anyio
        async def test_echo(faaslib_invoker):
            assert (await faaslib_invoker.invoke("Echo", {"a": 1})).json() == {"seen": {"a": 1}}
        """,
    )
    result.assert_outcomes(passed=2)


def test_without_a_registry_the_test_says_how_to_give_one(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_needs_one(faaslib_registry):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*faaslib's fixtures need a registry*faaslib_registry*"])
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.faaslib(registry="nowhere:registry")
        def test_bad_reference(faaslib_registry):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*faaslib_registry: 'nowhere:registry' names nothing*"])


def test_importing_faaslib_does_not_import_pytest() -> None:
    import subprocess
    import sys

    probe = "import sys, faaslib, faaslib.events; print('pytest' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_readmes_example_passes(pytester: pytest.Pytester) -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    section = readme[readme.index("## Testing your functions") :]
    example = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert example is not None
    pytester.mkdir("examples")
    (pytester.path / "examples" / "orders.py").write_text(
        (root / "examples" / "orders.py").read_text()
    )
    pytester.makeini("[pytest]\nfaaslib_registry = examples.orders:registry\n")
    pytester.makepyfile(test_readme=example.group(1))
    pytester.runpytest(*ARGS).assert_outcomes(passed=4)  # two tests, on asyncio and trio
