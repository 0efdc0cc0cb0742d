"""faaslib on AWS Lambda itself: the entry point for Lambda's Python runtime.

Deploy the application's code with faaslib, set the function's ``Handler`` to
``faaslib.aws.handler``, and name the function in two environment variables:
``FAASLIB_REGISTRY`` (``package.module:attribute``, the :class:`~faaslib.Registry`) and
``FAASLIB_FUNCTION`` (its registered name). The function runs as written, and answers as it
does under faaslib's :class:`~faaslib.Invoker`.
"""

from __future__ import annotations

from .bootstrap import FUNCTION_VARIABLE as FUNCTION_VARIABLE
from .bootstrap import REGISTRY_VARIABLE as REGISTRY_VARIABLE
from .bootstrap import ConfigurationError as ConfigurationError
from .bootstrap import LambdaFunction as LambdaFunction
from .bootstrap import handler as handler
from .bootstrap import load as load

__all__ = [
    "FUNCTION_VARIABLE",
    "REGISTRY_VARIABLE",
    "ConfigurationError",
    "LambdaFunction",
    "handler",
    "load",
]
