"""Resource-based policies: who may invoke a function, as Lambda's ``AddPermission`` grants it.

A function's policy is a list of statements, each allowing one principal an action, on the
function or on one of its versions or aliases (a qualifier), perhaps only for a source ARN or
account. An invoker that checks permissions (``Invoker(check_permissions=True)``) asks the
policy before anything of an invocation runs.

Who needs a statement is as on AWS. Principals of the function's own account are governed by
IAM identity policies, which faaslib does not model: they are allowed. Other accounts and AWS
services need a statement, except the sources a function lists in ``events=[...]`` (SAM writes
an ``AWS::Lambda::Permission`` for each) and Lambda itself (event source mappings and
destinations use the function's execution role, not its policy).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ._errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from ._ids import LATEST

if TYPE_CHECKING:
    from ._site import Site
    from ._spec import FunctionSpec

__all__ = [
    "INVOKE",
    "LAMBDA",
    "PermissionCheck",
    "Policies",
    "PolicyStatement",
    "principal_account",
]

#: The action an invocation needs.
INVOKE = "lambda:InvokeFunction"


class _Lambda(str):
    """The type of :data:`LAMBDA`: a caller cannot pass it by writing the same text."""

    __slots__ = ()


#: The principal of Lambda's own invocations (event source mappings, destinations, the HTTP
#: front's routes): always allowed.
LAMBDA = _Lambda("lambda.amazonaws.com")

_STATEMENT_ID = re.compile(r"[a-zA-Z0-9_.-]{1,100}")
_ACTION = re.compile(r"lambda:\*|lambda:[a-zA-Z]+|\*")
_PRINCIPAL = re.compile(r"\S+")
_SOURCE_ARN = re.compile(
    r"arn:aws[a-zA-Z0-9-]*:[a-zA-Z0-9-]+:([a-z]{2}(-gov)?-[a-z]+-\d)?:(\d{12})?:.*"
)
_ACCOUNT = re.compile(r"\d{12}")
_IAM_ARN = re.compile(r"arn:aws[a-zA-Z-]*:(?:iam|sts)::(\d{12}):.+")


def principal_account(principal: str) -> str | None:
    """The account of a principal: an account id, or an IAM or STS ARN; ``None`` for a
    service or ``*``."""
    if _ACCOUNT.fullmatch(principal):
        return principal
    found = _IAM_ARN.fullmatch(principal)
    return None if found is None else found.group(1)


@lru_cache(maxsize=256)
def _arn_pattern(pattern: str) -> re.Pattern[str]:
    """IAM's ``ArnLike``: ``*`` any run of characters, ``?`` any one."""
    return re.compile(".*".join(".".join(map(re.escape, p.split("?"))) for p in pattern.split("*")))


@dataclass(frozen=True)
class PolicyStatement:
    """One statement of a function's policy, as ``AddPermission`` adds it.

    :ivar sid: the statement id, unique in its policy
    :ivar principal: an account id, an IAM ARN, a service (``s3.amazonaws.com``) or ``*``
    :ivar action: ``lambda:InvokeFunction``, ``lambda:*`` or ``*`` allow invocations
    :ivar source_arn: only invocations for this source ARN (IAM's ``ArnLike``: ``*``, ``?``)
    :ivar source_account: only invocations for a source of this account
    """

    sid: str
    principal: str
    action: str = INVOKE
    source_arn: str | None = None
    source_account: str | None = None

    def allows(
        self, principal: str, action: str, source_arn: str | None, source_account: str | None
    ) -> bool:
        """Whether the statement lets ``principal`` do ``action`` for that source."""
        if self.action not in (action, "lambda:*", "*"):
            return False
        if self.principal != "*" and self.principal != principal:
            account = principal_account(self.principal)
            if account is None or account != principal_account(principal):
                return False
            if not (self.principal == account or self.principal.endswith(":root")):
                return False  # a user or role: itself only
        if self.source_arn is not None and (
            source_arn is None or not _arn_pattern(self.source_arn).fullmatch(source_arn)
        ):
            return False
        return self.source_account is None or self.source_account == source_account

    def document(self, resource: str) -> dict[str, Any]:
        """The statement as Lambda's ``GetPolicy`` writes it, for the function ARN
        ``resource``."""
        principal: Any
        if self.principal == "*":
            principal = "*"
        elif (account := principal_account(self.principal)) is not None:
            arn = f"arn:aws:iam::{account}:root" if self.principal == account else self.principal
            principal = {"AWS": arn}
        else:
            principal = {"Service": self.principal}
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": self.action,
            "Resource": resource,
        }
        condition: dict[str, Any] = {}
        if self.source_account is not None:
            condition["StringEquals"] = {"AWS:SourceAccount": self.source_account}
        if self.source_arn is not None:
            condition["ArnLike"] = {"AWS:SourceArn": self.source_arn}
        if condition:
            statement["Condition"] = condition
        return statement


def _statement(
    sid: str, principal: str, action: str, source_arn: str | None, source_account: str | None
) -> PolicyStatement:
    """A statement, each value checked as ``AddPermission`` checks it."""
    checks = (
        ("statementId", sid, _STATEMENT_ID, "[a-zA-Z0-9-_.]+ (1 to 100 characters)"),
        ("action", action, _ACTION, r"(lambda:[*]|lambda:[a-zA-Z]+|[*])"),
        ("principal", principal, _PRINCIPAL, r"[^\s]+"),
        ("sourceArn", source_arn, _SOURCE_ARN, "an ARN: arn:aws:<service>:<region>:<account>:..."),
        ("sourceAccount", source_account, _ACCOUNT, r"\d{12}"),
    )
    for field, value, pattern, shape in checks:
        if value is None and field in ("sourceArn", "sourceAccount"):
            continue
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValidationException(
                field, value, f"Member must satisfy regular expression pattern: {shape}"
            )
    return PolicyStatement(sid, principal, action, source_arn, source_account)


class Policies:
    """The statements of a registry's functions, by function name and qualifier (``None``:
    the function itself)."""

    def __init__(self) -> None:
        self._statements: dict[tuple[str, str | None], dict[str, PolicyStatement]] = {}

    def add(
        self,
        function: str,
        qualifier: str | None,
        sid: str,
        principal: str,
        action: str,
        source_arn: str | None,
        source_account: str | None,
    ) -> PolicyStatement:
        """Add a statement (the function and qualifier already checked to exist).

        :raises ~faaslib.ValidationException: a value breaks ``AddPermission``'s patterns
        :raises ~faaslib.ResourceConflictException: the policy has a statement ``sid``
        """
        if qualifier == "$LATEST":
            raise InvalidParameterValueException(
                "We currently do not support adding policies for $LATEST.", function_name=function
            )
        statement = _statement(sid, principal, action, source_arn, source_account)
        policy = self._statements.setdefault((function, qualifier), {})
        if sid in policy:
            raise ResourceConflictException(
                f"The statement id ({sid}) provided already exists. Please specify a new "
                "statement id, or remove the existing statement.",
                function_name=function,
            )
        policy[sid] = statement
        return statement

    def remove(self, function: str, qualifier: str | None, sid: str) -> None:
        """Remove a statement.

        :raises ~faaslib.ResourceNotFoundException: the policy has no statement ``sid``
        """
        policy = self._statements.get((function, qualifier), {})
        if sid not in policy:
            raise ResourceNotFoundException(
                f"Statement {sid} is not found in resource policy.", function_name=function
            )
        del policy[sid]

    def include(self, other: Policies, prefix: str) -> None:
        """Take the policies of ``other``'s functions, each name prefixed with ``prefix``."""
        for (function, qualifier), policy in other._statements.items():
            self._statements[prefix + function, qualifier] = dict(policy)

    def copy(self) -> Mapping[tuple[str, str | None], tuple[PolicyStatement, ...]]:
        """Every policy as it is now, unchanged by later additions."""
        return {key: tuple(policy.values()) for key, policy in self._statements.items() if policy}


class PermissionCheck:
    """An invoker's check of each invocation against its function's policy (the registry's
    policies as of the invoker's last look at it)."""

    def __init__(self, site: Site) -> None:
        self._site = site
        self.policies: Mapping[tuple[str, str | None], tuple[PolicyStatement, ...]] = {}

    def check(
        self, spec: FunctionSpec, invoked_arn: str, principal: str | None, source_arn: str | None
    ) -> None:
        """Check that ``principal`` may invoke ``invoked_arn`` (a version or alias of
        ``spec``'s function), for the source ``source_arn`` when an AWS service invokes.

        :raises ~faaslib.AccessDeniedException: nothing allows it
        """
        if principal is None:
            raise AccessDeniedException(
                "The invoker checks permissions: name the caller with principal= (an account "
                "id, an IAM ARN or a service principal)",
                function_name=spec.name,
            )
        account = self._site.account_id
        if type(principal) is _Lambda or principal_account(principal) == account:
            return
        if source_arn is not None and any(
            trigger.implicit_permission
            and trigger.invoked_as(spec.name, self._site) == (principal, source_arn)
            for trigger in spec.events
        ):
            return  # a source the function lists: SAM's own permission allows it
        parts = invoked_arn.split(":")
        qualifier = parts[7] if len(parts) > 7 and parts[7] != LATEST else None
        source_account = None
        if source_arn is not None:
            fields = source_arn.split(":", 5)
            source_account = fields[4] if len(fields) > 4 and fields[4] else account
        for statement in self.policies.get((spec.name, qualifier), ()):
            if statement.allows(principal, INVOKE, source_arn, source_account):
                return
        raise AccessDeniedException(
            f"User: {principal} is not authorized to perform: {INVOKE} on resource: "
            f"{invoked_arn} because no resource-based policy allows the {INVOKE} action",
            function_name=spec.name,
        )
