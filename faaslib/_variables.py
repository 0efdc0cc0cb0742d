"""Lambda's environment variables: a function's own (``Environment.Variables``), checked as
``CreateFunction`` checks them, and the reserved ones the runtime sets in each environment."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType

from ._errors import InvalidParameterValueException, ValidationException

__all__ = ["MAX_ENVIRONMENT_BYTES", "RESERVED", "check_environment", "runtime_variables"]

#: Lambda's cap on a function's variables, measured as their JSON text.
MAX_ENVIRONMENT_BYTES = 4096
_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
#: Set by Lambda's runtime: a function's configuration may not set them.
RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


def check_environment(variables: object) -> Mapping[str, str]:
    """A function's variables as a read-only mapping, checked as Lambda checks them.

    :raises ~faaslib.ValidationException: not a mapping of strings, or a key that is not a
        letter followed by letters, digits and ``_``
    :raises ~faaslib.InvalidParameterValueException: a reserved key, or over 4 KB in all
    """
    if not isinstance(variables, Mapping):
        raise ValidationException("environment.variables", variables, "Member must be a map")
    reserved = sorted(RESERVED.intersection(variables))
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the "
            "environment variables you have provided contains reserved keys that are "
            "currently not supported for modification. Reserved keys used in this request: "
            + ",".join(reserved)
        )
    for key, value in variables.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValidationException(
                "environment.variables",
                key,
                "Map keys must satisfy constraint: "
                "[Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
            )
        if not isinstance(value, str):
            raise ValidationException(
                f"environment.variables.{key}", value, "Member must be a string"
            )
    text = json.dumps(dict(variables), separators=(",", ":"))
    if len(text.encode()) > MAX_ENVIRONMENT_BYTES:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the "
            f"environment variables you have provided exceeded the 4KB limit. String measured: "
            f"{text}"
        )
    return MappingProxyType(dict(variables))


def runtime_variables(
    *,
    name: str,
    version: str,
    memory_size: int,
    region: str,
    handler: str,
    task_root: str,
    log_stream_name: str,
    provisioned: bool,
) -> dict[str, str]:
    """The variables Lambda's Python runtime sets in an execution environment."""
    return {
        "_HANDLER": handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_size),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency" if provisioned else "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
        "LAMBDA_TASK_ROOT": task_root,
        "TZ": ":UTC",
    }
