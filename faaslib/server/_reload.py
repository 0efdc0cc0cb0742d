"""``faaslib serve --reload``: uvicorn's reloader restarts a worker process when a source file
changes, and the worker builds the application afresh from the registry reference the
command line passed down in the environment."""

from __future__ import annotations

import json
import os
from typing import Any

from .._locate import locate_registry

__all__ = ["REGISTRY_VARIABLE", "build_app", "environment"]

#: The reloaded worker's registry reference and invoker options, set by the command.
REGISTRY_VARIABLE = "FAASLIB_SERVE_REGISTRY"
OPTIONS_VARIABLE = "FAASLIB_SERVE_OPTIONS"


def environment(reference: str, invoker_options: dict[str, Any]) -> dict[str, str]:
    """The variables that tell a reloaded worker what to serve."""
    return {REGISTRY_VARIABLE: reference, OPTIONS_VARIABLE: json.dumps(invoker_options)}


def build_app() -> Any:
    """The application of a reloaded worker (uvicorn's factory), importing the registry
    and its handlers' modules afresh."""
    from ._app import create_app  # the worker imports it, not the reloader

    registry = locate_registry(os.environ[REGISTRY_VARIABLE])
    return create_app(registry, **json.loads(os.environ.get(OPTIONS_VARIABLE, "{}")))
