"""Function ARNs, and the function references ``Invoke`` accepts (name, ``name:qualifier``, ARN)."""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["QUALIFIER", "FunctionRef", "function_arn", "parse_function_arn", "parse_function_ref"]

#: Invoke's ``FunctionName`` pattern (botocore's Lambda model).
_FUNCTION_REF = re.compile(
    r"(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1}):)?"
    r"(?:(?P<account>\d{12}):)?"
    r"(?:function:)?"
    r"(?P<name>[a-zA-Z0-9\-_\.]+)"
    r"(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9\-_]+))?"
)
#: Invoke's ``Qualifier`` pattern.
QUALIFIER = re.compile(r"\$(?:LATEST(?:\.PUBLISHED)?)|[a-zA-Z0-9\-_$]{1,128}")


class FunctionRef(NamedTuple):
    """A parsed function reference; ``None`` for the parts it leaves out."""

    name: str
    qualifier: str | None
    region: str | None
    account: str | None


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    """Return ``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``."""
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def parse_function_ref(ref: str) -> FunctionRef | None:
    """Split a function name, ``name:qualifier``, partial or full ARN; ``None`` if malformed."""
    if len(ref) > 256:
        return None
    match = _FUNCTION_REF.fullmatch(ref)
    if match is None:
        return None
    return FunctionRef(match["name"], match["qualifier"], match["region"], match["account"])


def parse_function_arn(text: str) -> FunctionRef | None:
    """Split a full function ARN (``arn:aws:lambda:<region>:<account>:function:<name>``, with
    a qualifier or not); ``None`` for anything else, a bare name or partial ARN included."""
    ref = parse_function_ref(text) if text.startswith("arn:") else None
    if ref is None or ref.region is None or ref.account is None or ":function:" not in text:
        return None
    return ref
