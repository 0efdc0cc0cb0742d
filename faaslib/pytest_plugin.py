"""faaslib's pytest plugin, loaded by pytest wherever faaslib is installed (``pytest11``).

Fixtures, each fresh per test:

- ``faaslib_registry``: the test's registry: ``@pytest.mark.faaslib(registry=...)`` (a
  :class:`~faaslib.Registry`, ``package.module:attribute`` or a SAM template's path), else
  the ``faaslib_registry`` ini option; override the fixture for anything else;
- ``faaslib_clock``: a :class:`~faaslib.VirtualClock` the invokers run on: advance it to
  pass retry delays, schedules, visibility timeouts and event ages in no time;
- ``faaslib_history``: a :class:`~faaslib.History` of every handler run;
- ``faaslib_faults``: a :class:`~faaslib.Faults` for failures the test declares;
- ``faaslib_invoker`` (async tests) and ``faaslib_blocking_invoker`` (sync tests): an open
  invoker over the registry with that clock, history and faults (the marker's other keyword
  arguments are the invoker's options). At teardown it is drained, and an Event invocation
  that failed for good fails the test with its error document, unless the test expects it:
  ``@pytest.mark.faaslib(expect_event_failures=True)``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ._blocking import BlockingInvoker
from ._clock import VirtualClock
from ._faults import Faults
from ._history import History
from ._invoker import Invoker
from ._locate import RegistryNotFound, locate_registry
from ._registry import Registry

__all__ = [
    "faaslib_blocking_invoker",
    "faaslib_clock",
    "faaslib_faults",
    "faaslib_history",
    "faaslib_invoker",
    "faaslib_registry",
]

_INI = "faaslib_registry"
_MARKER = "faaslib"
#: Marker arguments that are the plugin's, not the invoker's.
_OWN = ("registry", "expect_event_failures")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _INI,
        "the registry of faaslib's fixtures: package.module:attribute or a SAM template's path",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(registry=None, expect_event_failures=False, **invoker_options): the "
        "registry and invoker options of faaslib's fixtures",
    )


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(_MARKER)
    return {} if marker is None else dict(marker.kwargs)


@pytest.fixture
def faaslib_registry(request: pytest.FixtureRequest) -> Registry:
    """The registry the test's invoker serves (the marker's, else the ini option's)."""
    reference = _marker_options(request).get("registry") or request.config.getini(_INI)
    if isinstance(reference, Registry):
        return reference
    if not reference:
        pytest.fail(
            "faaslib's fixtures need a registry: @pytest.mark.faaslib(registry=...), the "
            f"'{_INI}' ini option, or a faaslib_registry fixture of your own",
            pytrace=False,
        )
    root = str(request.config.rootpath)
    if root not in sys.path:
        sys.path.insert(0, root)  # the project's modules import, as under `python -m`
    try:
        return locate_registry(os.fspath(reference))
    except RegistryNotFound as exc:
        pytest.fail(f"faaslib_registry: {exc}", pytrace=False)


@pytest.fixture
def faaslib_clock() -> VirtualClock:
    """The invokers' clock: it moves only when the test advances it."""
    return VirtualClock()


@pytest.fixture
def faaslib_history() -> History:
    """Every handler run of the test's invokers."""
    return History()


@pytest.fixture
def faaslib_faults() -> Faults:
    """Failures the test declares for chosen invocations."""
    return Faults()


def _invoker(
    request: pytest.FixtureRequest,
    registry: Registry,
    clock: VirtualClock,
    history: History,
    faults: Faults,
) -> Invoker:
    """The test's invoker, not yet open: the fixtures' clock, history and faults, and the
    marker's other keyword arguments as its options."""
    options = {k: v for k, v in _marker_options(request).items() if k not in _OWN}
    return Invoker(registry, clock=clock, history=history, faults=faults, **options)


def _check_events(request: pytest.FixtureRequest, history: History) -> None:
    """Fail the test for each Event invocation that failed for good, unless expected."""
    if _marker_options(request).get("expect_event_failures"):
        return
    failed, given_up = history.failed_events(), history.given_up
    if failed or given_up:
        lines = [f"{len(failed) + len(given_up)} Event invocation(s) failed for good:"]
        lines.extend(
            f"  {i.function} {i.request_id} (attempt {i.attempt}, then {i.ended}): "
            + i.result.payload.decode(errors="replace")
            for i in failed
        )
        lines.extend(
            f"  {g.function} {g.request_id} (never run: {g.condition}, then {g.ended})"
            for g in given_up
        )
        lines.append("(mark the test @pytest.mark.faaslib(expect_event_failures=True) if so)")
        pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture
async def faaslib_invoker(
    request: pytest.FixtureRequest,
    anyio_backend: Any,
    faaslib_registry: Registry,
    faaslib_clock: VirtualClock,
    faaslib_history: History,
    faaslib_faults: Faults,
) -> AsyncIterator[Invoker]:
    """An open invoker over the test's registry, drained and checked at teardown."""
    async with _invoker(
        request, faaslib_registry, faaslib_clock, faaslib_history, faaslib_faults
    ) as invoker:
        yield invoker
        await invoker.drain()
    _check_events(request, faaslib_history)


@pytest.fixture
def faaslib_blocking_invoker(
    request: pytest.FixtureRequest,
    faaslib_registry: Registry,
    faaslib_clock: VirtualClock,
    faaslib_history: History,
    faaslib_faults: Faults,
) -> Iterator[BlockingInvoker]:
    """:func:`faaslib_invoker` for synchronous tests: a :class:`~faaslib.BlockingInvoker`."""
    invoker = _invoker(request, faaslib_registry, faaslib_clock, faaslib_history, faaslib_faults)
    with BlockingInvoker(invoker) as blocking:
        yield blocking
        blocking.drain()
    _check_events(request, faaslib_history)
