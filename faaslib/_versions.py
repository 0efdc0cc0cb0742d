"""Published versions and aliases of a function, as Lambda keeps them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ._errors import InvalidParameterValueException, ValidationException
from ._ids import LATEST

__all__ = ["LATEST", "Alias", "check_alias_name"]

_ALIAS = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9\-_]{1,128}")
_VERSION = re.compile(r"[0-9]+")


def check_alias_name(name: object) -> None:
    """:raises ~faaslib.ValidationException: not 1-128 of ``[a-zA-Z0-9-_]``, or all digits"""
    if not isinstance(name, str) or not _ALIAS.fullmatch(name):
        raise ValidationException(
            "name",
            name,
            r"Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
        )


@dataclass(frozen=True, slots=True)
class Alias:
    """A name for a version of a function, optionally sending a share of invocations to a
    second version (Lambda's ``RoutingConfig.AdditionalVersionWeights``).

    :ivar name: the alias, 1-128 characters of ``[a-zA-Z0-9-_]``, not all digits
    :ivar function_version: the version it points to (``$LATEST`` or a published number)
    :ivar routing: at most one other published version and the share (0.0-1.0) of
        invocations it gets; the main version gets the rest
    :ivar description: up to 256 characters
    :ivar provisioned_concurrency: environments initialised for it when an invoker opens
    """

    name: str
    function_version: str
    routing: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    provisioned_concurrency: int = 0

    def __post_init__(self) -> None:
        check_alias_name(self.name)
        if not isinstance(self.function_version, str) or not (
            self.function_version == LATEST or _VERSION.fullmatch(self.function_version)
        ):
            raise ValidationException(
                "functionVersion",
                self.function_version,
                r"Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)",
            )
        routing = dict(self.routing)
        if len(routing) > 1:
            raise InvalidParameterValueException(
                "Number of items in AdditionalVersionWeights cannot be greater than 1"
            )
        for version, weight in routing.items():
            if not isinstance(version, str) or not _VERSION.fullmatch(version):
                raise ValidationException(
                    "additionalVersionWeights",
                    version,
                    "Member must satisfy regular expression pattern: [0-9]+",
                )
            if version == self.function_version:
                raise InvalidParameterValueException(
                    "Invalid function version in AdditionalVersionWeights: it is the alias's "
                    f"own version {version}"
                )
            if self.function_version == LATEST:
                raise InvalidParameterValueException(
                    "$LATEST is not supported for an alias pointing to more than 1 version"
                )
            if (
                isinstance(weight, bool)
                or not isinstance(weight, (int, float))
                or not 0.0 <= weight <= 1.0
            ):
                raise ValidationException(
                    "additionalVersionWeights",
                    weight,
                    "Member must have value between 0.0 and 1.0",
                )
        object.__setattr__(self, "routing", MappingProxyType(routing))
        if not isinstance(self.description, str) or len(self.description) > 256:
            raise ValidationException(
                "description",
                self.description,
                "Member must be a string of length less than or equal to 256",
            )
        if (
            isinstance(self.provisioned_concurrency, bool)
            or not isinstance(self.provisioned_concurrency, int)
            or self.provisioned_concurrency < 0
        ):
            raise ValidationException(
                "provisionedConcurrentExecutions",
                self.provisioned_concurrency,
                "Member must be a whole number greater than or equal to 0",
            )
