"""The function versions an invoker runs: references (names, ARNs, qualifiers, aliases)
resolved to runtimes, made on first use."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ._arn import QUALIFIER, function_arn, parse_function_ref
from ._errors import (
    FaaslibError,
    InvalidParameterValueException,
    ResourceNotFoundException,
    ValidationException,
)
from ._execution import FunctionRuntime
from ._ids import LATEST
from .workflows._machines import machine_name_of

if TYPE_CHECKING:
    from ._concurrency import ConcurrencyPool
    from ._registry import Registry, RegistrySnapshot

__all__ = ["FunctionTable", "Target"]

#: A resolved function reference: the runtime, the ARN as invoked, and an alias's second
#: version with its weight (``None`` and 0.0 without routing).
Target = tuple[FunctionRuntime, str, "FunctionRuntime | None", float]


class FunctionTable:
    """The runtimes of one invoker's function versions, and the references resolved to them.

    :attr:`targets` caches unqualified references (the invoker reads it on its hot path);
    :meth:`reload` empties it and gives ``$LATEST`` runtimes their new specs.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        region: str,
        account: str,
        max_response: int,
        concurrency: ConcurrencyPool,
        random: Callable[[], float],
    ) -> None:
        self._registry = registry
        self._region = region
        self._account = account
        self._max_response = max_response
        self._concurrency = concurrency
        self._random = random
        self.runtimes: dict[tuple[str, str], FunctionRuntime] = {}
        self.targets: dict[str, Target] = {}

    def reload(self, snapshot: RegistrySnapshot) -> None:
        """Take a changed registry: forget resolved references, reload ``$LATEST`` runtimes."""
        self.targets.clear()
        specs = snapshot.functions
        for (name, version), fn in self.runtimes.items():
            if version == LATEST and specs[name] is not fn.spec:
                fn.load(specs[name])

    def _locate(self, ref: str, qualifier: str | None) -> tuple[str, str | None, str]:
        """The function name, version or alias (``None``: unqualified) and ARN a reference
        names, checked for form, and for naming a function this invoker has.

        :raises ~faaslib.ValidationException: a malformed name or qualifier
        :raises ~faaslib.InvalidParameterValueException: the name's qualifier and
            ``qualifier`` differ
        :raises ~faaslib.ResourceNotFoundException: no such function here
        """
        parsed = parse_function_ref(ref) if isinstance(ref, str) else None
        if parsed is None:
            raise ValidationException(
                "functionName",
                ref,
                "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?"
                r"([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)"
                r"(:(\$LATEST|[a-zA-Z0-9-_]+))?",
            )
        name, derived, region, account = parsed
        version = derived
        if qualifier is not None:
            if not isinstance(qualifier, str) or not QUALIFIER.fullmatch(qualifier):
                raise ValidationException(
                    "qualifier",
                    qualifier,
                    r"Member must satisfy regular expression pattern: "
                    r"(|[a-zA-Z0-9$_-]+)",
                )
            if derived is not None and derived != qualifier:
                raise InvalidParameterValueException(
                    "The derived qualifier from the function name does not match the specified "
                    "qualifier.",
                    function_name=name,
                )
            version = qualifier
        arn = function_arn(region or self._region, account or self._account, name, version)
        if (
            (region is not None and region != self._region)
            or (account is not None and account != self._account)
            or name not in self._registry
        ):
            raise ResourceNotFoundException(f"Function not found: {arn}", function_name=name)
        return name, version, arn

    def resolve(self, ref: str, qualifier: str | None) -> Target:
        """The version a reference names (with an alias's second version and its weight) and
        the ARN as invoked; unqualified references are cached until :meth:`reload`.

        :raises ~faaslib.ValidationException: a malformed name or qualifier
        :raises ~faaslib.InvalidParameterValueException: the name's qualifier and
            ``qualifier`` differ
        :raises ~faaslib.ResourceNotFoundException: no such function, version or alias
        """
        name, version, arn = self._locate(ref, qualifier)
        alternative, weight = None, 0.0
        try:
            if version is None or version == LATEST or version.isdigit():
                fn = self.runtime(name, version or LATEST)
            else:  # an alias
                alias = self._registry.get_alias(name, version)
                fn = self.runtime(name, alias.function_version)
                for extra, share in alias.routing.items():
                    alternative, weight = self.runtime(name, extra), share
        except ResourceNotFoundException:
            raise ResourceNotFoundException(
                f"Function not found: {arn}", function_name=name
            ) from None
        target = (fn, arn, alternative, weight)
        if qualifier is None:
            self.targets[ref] = target
        return target

    def missing_destination(
        self, snapshot: RegistrySnapshot
    ) -> InvalidParameterValueException | None:
        """Lambda's error for the first destination or dead-letter target (of ``$LATEST`` or
        a published version) naming a function, version or alias that does not exist here;
        ``None`` when every one resolves. Makes no runtime."""
        versions = [(spec, spec.name) for spec in snapshot.functions.values()]
        for name, published in snapshot.versions.items():
            versions += [(spec, f"{name}:{n}") for n, spec in enumerate(published, 1)]
        for spec, where in versions:
            for field in ("on_success", "on_failure", "dead_letter"):
                ref = getattr(spec, field)
                machine = machine_name_of(ref) if isinstance(ref, str) else None
                if machine is not None:
                    if machine in self._registry.state_machines:
                        continue
                    return InvalidParameterValueException(
                        f"The destination ARN {ref} is invalid. ({field} of function {where}: "
                        "no such state machine)",
                        function_name=spec.name,
                    )
                if isinstance(ref, str) and (arn := self._unresolved(ref)) is not None:
                    return InvalidParameterValueException(
                        f"The destination ARN {arn} is invalid. ({field} of function {where}: "
                        "no such function, version or alias)",
                        function_name=spec.name,
                    )
        return None

    def _unresolved(self, ref: str) -> str | None:
        """The ARN of a function reference that does not resolve, or ``None``."""
        try:
            name, version, _ = self._locate(ref, None)
            if version is not None and version != LATEST:
                if version.isdigit():
                    self._registry.get_version(name, version)
                else:
                    self._registry.get_alias(name, version)
        except FaaslibError:
            parsed = parse_function_ref(ref)
            assert parsed is not None  # checked when registered
            name, version, region, account = parsed
            return function_arn(region or self._region, account or self._account, name, version)
        return None

    def pick(self, target: Target) -> tuple[FunctionRuntime, str]:
        """The version to run (an alias may route a share to its second one), and the ARN."""
        fn, invoked_arn, alternative, weight = target
        if alternative is not None and self._random() < weight:
            fn = alternative
        return fn, invoked_arn

    def runtime(self, name: str, version: str) -> FunctionRuntime:
        """The runtime of a version of a function, made on first use.

        :raises ~faaslib.ResourceNotFoundException: no such function or version
        """
        fn = self.runtimes.get((name, version))
        if fn is None:
            spec = self._registry.get_version(name, version)
            concurrency = self._concurrency.account(
                name, self._registry.get(name).reserved_concurrency
            )
            fn = self.runtimes[name, version] = FunctionRuntime(
                spec,
                region=self._region,
                account=self._account,
                max_response=self._max_response,
                version=version,
                concurrency=concurrency,
            )
        return fn
