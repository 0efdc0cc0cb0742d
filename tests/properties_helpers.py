"""Shared pieces of the property-based tests (``test_properties_*.py``): hypothesis settings
that keep them fast and repeatable in CI, JSON strategies, and the check that an error is one
of Lambda's, with its error type and HTTP status."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import faaslib

#: Every async scenario runs on both anyio backends, as the rest of the suite does.
BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])


def property_settings(max_examples: int, **overrides: Any) -> settings:
    """Hypothesis settings for CI: the same examples on every run (derandomized, no example
    database), no per-example deadline (the machine is slow and shared; each scenario bounds
    its own waits), and a modest number of examples."""
    options: dict[str, Any] = {
        "max_examples": max_examples,
        "derandomize": True,
        "database": None,
        "deadline": None,
        "print_blob": False,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    }
    options.update(overrides)
    return settings(**options)


#: Lambda's error code and HTTP status of each faaslib error a request can meet.
LAMBDA_ERRORS: dict[type[faaslib.FaaslibError], tuple[str, int]] = {
    faaslib.ValidationException: ("ValidationException", 400),
    faaslib.ResourceNotFoundException: ("ResourceNotFoundException", 404),
    faaslib.InvalidParameterValueException: ("InvalidParameterValueException", 400),
    faaslib.InvalidRequestContentException: ("InvalidRequestContentException", 400),
    faaslib.RequestTooLargeException: ("RequestEntityTooLargeException", 413),
    faaslib.TooManyRequestsException: ("TooManyRequestsException", 429),
    faaslib.InvalidMessageContents: ("InvalidMessageContents", 400),
}


def check_lambda_error(
    exc: BaseException, allowed: tuple[type[faaslib.FaaslibError], ...]
) -> faaslib.FaaslibError:
    """``exc`` is one of the ``allowed`` faaslib errors, with Lambda's error type, status and
    error document (``Type`` ``User`` and a message member); returned for further checks."""
    assert isinstance(exc, faaslib.FaaslibError), f"not a FaaslibError: {exc!r}"
    assert type(exc) in allowed, f"unexpected {type(exc).__name__}: {exc}"
    error_type, status = LAMBDA_ERRORS[type(exc)]
    assert (exc.error_type, exc.status_code) == (error_type, status)
    document = exc.to_dict()
    assert document["Type"] == "User"
    assert isinstance(document[exc.message_member], str)
    assert document[exc.message_member] == exc.message == str(exc)
    return exc


#: JSON scalars: finite floats (NaN and infinities are not JSON), integers beyond 64 bits,
#: text of any code point but lone surrogates (hypothesis leaves those out by default).
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)

#: Any JSON value, nested a few levels.
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
