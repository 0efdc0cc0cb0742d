"""``Registry``: the named functions an invoker can run."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from ._errors import (
    FaaslibError,
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    TemplateError,
    TemplateWarning,
)
from ._permissions import INVOKE, Policies, PolicyStatement
from ._spec import FunctionOptions, FunctionSpec
from ._versions import LATEST, Alias
from .workflows._machines import MachineType, StateMachine, StateMachines

if TYPE_CHECKING:
    import sys

    from ._destinations import DeadLetter
    from ._triggers import Trigger
    from .sam._import import TemplateApplication

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

__all__ = ["Registry", "RegistrySnapshot"]

_UPDATABLE = frozenset(
    f.name for f in dataclasses.fields(FunctionSpec) if f.init and f.name != "name"
)

F = TypeVar("F", bound=Callable[..., Any])
#: A destination or dead-letter target, kept as its own type when renamed.
D = TypeVar("D", bound="DeadLetter | None")


@dataclasses.dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """What a registry holds at one :attr:`~Registry.generation`: read-only views that later
    changes to the registry do not alter.

    :ivar generation: the registry's generation this snapshot was taken at
    :ivar functions: the ``$LATEST`` spec of each function, by name
    :ivar versions: the published versions of each function that has some (``"1"`` first)
    :ivar aliases: the aliases of each function that has some, by alias name
    :ivar policies: the statements of each function's resource-based policy, by function name
        and qualifier (``None``: the function itself)
    """

    generation: int
    functions: Mapping[str, FunctionSpec]
    versions: Mapping[str, tuple[FunctionSpec, ...]]
    aliases: Mapping[str, Mapping[str, Alias]]
    policies: Mapping[tuple[str, str | None], tuple[PolicyStatement, ...]]


class Registry:
    """A set of functions, each a handler with Lambda's configuration.

    Registries are plain values: make as many as you like (no global state), and combine them
    with :meth:`include`. Decorating keeps the function unchanged, so it still unit-tests as a
    plain function::

        registry = faaslib.Registry()

        @registry.function(timeout=10)
        async def place_order(order: Order, context: faaslib.Context) -> Receipt: ...
    """

    def __init__(self) -> None:
        self._specs: dict[str, FunctionSpec] = {}  # $LATEST of each function
        self._versions: dict[str, list[FunctionSpec]] = {}  # published: "1" is [0]
        self._aliases: dict[str, dict[str, Alias]] = {}
        #: Bumped by every change (a function added or updated, a version, an alias), so
        #: invokers look again at what they cached.
        self._generation = 0
        self._snapshot: RegistrySnapshot | None = None
        self._resources: dict[str, object] = {}
        self._policies = Policies()
        self._machines = StateMachines()

    @classmethod
    def from_template(
        cls,
        path: str | os.PathLike[str],
        /,
        *,
        parameters: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> Registry:
        """Read an AWS SAM or CloudFormation template (YAML with CloudFormation's short tags,
        which needs the ``sam`` extra, or JSON) as a registry of its Python functions::

            registry = faaslib.Registry.from_template("template.yaml")
            registry.resources["OrdersQueue"].send('{"id": 7}')

        Each function is named by its ``FunctionName`` (else its logical id) and runs its
        ``Handler`` from its ``CodeUri`` as Lambda's runtime does: in worker processes
        (``isolation="process"``) with its ``Environment``, taking events as plain JSON. SAM's
        ``Globals`` apply; ``Timeout``, ``MemorySize``, ``ReservedConcurrentExecutions``,
        ``EventInvokeConfig``, ``DeadLetterQueue``, ``AutoPublishAlias`` and ``Events`` become
        faaslib's settings and triggers, over the queues, topics, buckets, streams and tables
        the template declares (:attr:`resources`); its state machines become
        :meth:`state_machine`'s. What faaslib does not run (layers, images, other runtimes, a
        VPC, ...) is a :class:`~faaslib.TemplateWarning` naming the resource.

        :param parameters: values of the template's ``Parameters`` (as
            ``sam deploy --parameter-overrides``); the others take their ``Default``
        :param region: ``AWS::Region`` (and the region in the ARNs the template resolves):
            give the invoker the same one, as its sources take the invoker's
        :param account: ``AWS::AccountId``
        :raises ~faaslib.TemplateError: the template does not read or resolve, a setting is
            out of Lambda's range, or a state machine's definition is invalid (the message
            names its resource); nothing is registered
        """
        from .sam._import import read_template

        application = read_template(path, parameters=parameters, region=region, account=account)
        registry = cls()
        _add_template(registry, application)
        for message in application.warnings:
            warnings.warn(message, TemplateWarning, stacklevel=2)
        return registry

    @property
    def resources(self) -> Mapping[str, object]:
        """The in-memory resources of the template this registry was read from
        (:meth:`from_template`): its queues, topics, buckets, streams and tables by logical id
        (a faaslib :class:`~faaslib.Queue`, :class:`~faaslib.Topic`, ...). Empty otherwise."""
        return MappingProxyType(self._resources)

    @property
    def generation(self) -> int:
        """A number that changes whenever the registry does (a function added or updated, a
        version published, an alias created, changed or deleted): compare it with a
        :class:`RegistrySnapshot`'s to tell that the snapshot is out of date."""
        return self._generation

    def snapshot(self) -> RegistrySnapshot:
        """A consistent, read-only view of every function, version and alias now (the same
        object until the registry changes)."""
        snapshot = self._snapshot
        if snapshot is None or snapshot.generation != self._generation:
            snapshot = self._snapshot = RegistrySnapshot(
                generation=self._generation,
                functions=MappingProxyType(dict(self._specs)),
                versions=MappingProxyType(
                    {name: tuple(specs) for name, specs in self._versions.items() if specs}
                ),
                aliases=MappingProxyType(
                    {
                        name: MappingProxyType(dict(aliases))
                        for name, aliases in self._aliases.items()
                        if aliases
                    }
                ),
                policies=MappingProxyType(self._policies.copy()),
            )
        return snapshot

    @overload
    def function(self, handler: F, /, **options: Unpack[FunctionOptions]) -> F: ...

    @overload
    def function(self, /, **options: Unpack[FunctionOptions]) -> Callable[[F], F]: ...

    def function(
        self, handler: F | None = None, /, **options: Unpack[FunctionOptions]
    ) -> F | Callable[[F], F]:
        """Register a ``def`` or ``async def`` handler; usable bare or with arguments.

        :param name: function name (default: the handler's ``__name__``), 1-64 characters of
            ``[a-zA-Z0-9-_]``
        :param timeout: seconds, 1-900 (Lambda's default 3)
        :param memory_size: MB, 128-10240
        :param description: up to 256 characters
        :param max_retry_attempts: retries of a failed Event invocation, 0-2 (default 2)
        :param max_event_age: seconds an Event invocation may wait to run, 60-21600 (6 h)
        :param on_success: destination of the record of a successful Event invocation
        :param on_failure: destination of the record of an Event invocation that failed every
            attempt or grew too old
        :param dead_letter: where the original event of such a failed invocation goes (a
            function named by a destination or dead-letter target may be registered later;
            an invoker refuses to open while one does not exist)
        :param init: run once in each new execution environment (sync or async, no
            arguments); the handler reaches its result as ``context.init_result``
        :param isolation: ``"thread"`` (async handlers on the loop, sync ones in a worker
            thread) or ``"process"`` (each environment a worker process of its own; the handler
            and ``init`` must be importable module-level functions)
        :param reserved_concurrency: concurrent runs reserved for the function, and its cap; 0
            disables it (Lambda's ``ReservedConcurrentExecutions``)
        :param provisioned_concurrency: environments initialised when an invoker opens
        :param events: the function's triggers, a list even of one, e.g.
            ``[faaslib.SQS(queue, batch_size=10)]``
        :return: the handler itself, unchanged
        :raises ~faaslib.ValidationException: a setting is out of range, or the handler's
            signature cannot take an event
        :raises ~faaslib.ResourceConflictException: the name is already registered
        """

        def register(fn: F) -> F:
            settings: dict[str, Any] = dict(options)
            if settings.get("name") is None:  # omitted (or None): the handler's own name
                settings["name"] = getattr(fn, "__name__", "")
            self.add(FunctionSpec(handler=fn, **settings))
            return fn

        if handler is not None:
            return register(handler)
        return register

    def add(self, spec: FunctionSpec) -> None:
        """Register a function from its spec.

        :raises ~faaslib.ResourceConflictException: a function of that name exists already
        """
        self._check_free(spec.name)
        for trigger in spec.events:
            trigger._check_attach()
        self._specs[spec.name] = spec
        self._generation += 1
        for trigger in spec.events:
            trigger._attach()

    def _check_free(self, name: str) -> None:
        if name in self._specs:
            raise ResourceConflictException(f"Function already exist: {name}", function_name=name)

    def update(self, name: str, /, **changes: Any) -> FunctionSpec:
        """Change a registered function's handler or configuration, at any time.

        Like Lambda's ``UpdateFunctionConfiguration`` and ``UpdateFunctionEventInvokeConfig``:
        the settings not named keep their values, and invocations that start afterwards, queued
        events and retries included, see the new ones::

            registry.update("ship_order", max_retry_attempts=0, on_failure=failures.append)

        :param changes: fields of :class:`FunctionSpec` (``timeout``, ``handler``,
            ``on_failure``, ...), except ``name``
        :return: the new spec
        :raises ~faaslib.ResourceNotFoundException: no such function
        :raises ~faaslib.InvalidParameterValueException: a field does not exist or is ``name``
        :raises ~faaslib.ValidationException: a new value is out of range
        """
        spec = self.get(name)
        unknown = sorted(set(changes) - _UPDATABLE)
        if unknown:
            raise InvalidParameterValueException(
                f"Cannot update {', '.join(unknown)} of a function; updatable: "
                + ", ".join(sorted(_UPDATABLE)),
                function_name=name,
            )
        updated = dataclasses.replace(spec, **changes)
        leaving = [t for t in spec.events if all(t is not kept for kept in updated.events)]
        for trigger in updated.events:
            if all(trigger is not old for old in spec.events):
                trigger._check_attach(leaving)
        self._specs[name] = updated
        self._generation += 1
        for trigger in updated.events:  # attach the new list first: triggers kept stay on
            trigger._attach()
        for trigger in spec.events:
            trigger._detach()
        return updated

    # -- versions and aliases ------------------------------------------------------------------

    def publish_version(self, name: str, /, description: str = "") -> str:
        """Freeze the function's ``$LATEST`` handler and configuration as a new version.

        Versions are numbered "1", "2", ...; publishing with nothing changed since the last
        version returns that version, as Lambda does. ``provisioned_concurrency`` is not part
        of a version (give it to an alias).

        :return: the version number, as a string
        :raises ~faaslib.ResourceNotFoundException: no such function
        """
        spec = self.get(name)
        published = self._versions.setdefault(name, [])
        frozen = dataclasses.replace(
            spec, description=description or spec.description, provisioned_concurrency=0
        )
        if published and published[-1] == dataclasses.replace(
            frozen, description=published[-1].description
        ):
            return str(len(published))
        published.append(frozen)
        self._generation += 1
        return str(len(published))

    def versions(self, name: str, /) -> list[str]:
        """``$LATEST`` and the published versions of a function, oldest first.

        :raises ~faaslib.ResourceNotFoundException: no such function
        """
        self.get(name)
        return [LATEST, *(str(n) for n in range(1, len(self._versions.get(name, ())) + 1))]

    def get_version(self, name: str, version: str, /) -> FunctionSpec:
        """The spec of ``$LATEST`` or of a published version.

        :raises ~faaslib.ResourceNotFoundException: no such function or version
        """
        if version == LATEST:
            return self.get(name)
        published = self._versions.get(name, [])
        if version.isdigit() and 1 <= int(version) <= len(published) and version[0] != "0":
            return published[int(version) - 1]
        raise ResourceNotFoundException(f"Function not found: {name}:{version}", function_name=name)

    def create_alias(
        self,
        name: str,
        alias: str,
        /,
        function_version: str,
        *,
        routing: dict[str, float] | None = None,
        description: str = "",
        provisioned_concurrency: int = 0,
    ) -> Alias:
        """Point a new alias at a version (optionally routing a share to a second one)::

            registry.create_alias("checkout", "live", "2", routing={"3": 0.1})

        :raises ~faaslib.ResourceNotFoundException: no such function or version
        :raises ~faaslib.ResourceConflictException: the alias exists already
        :raises ~faaslib.ValidationException: a malformed name, version or weight
        :raises ~faaslib.InvalidParameterValueException: routing to more than one version, to
            the alias's own version, or from ``$LATEST``
        """
        self.get(name)
        if alias in self._aliases.get(name, {}):
            raise ResourceConflictException(
                f"Alias already exists: {name}:{alias}", function_name=name
            )
        return self._put_alias(
            name,
            Alias(alias, function_version, routing or {}, description, provisioned_concurrency),
        )

    def update_alias(self, name: str, alias: str, /, **changes: Any) -> Alias:
        """Change an alias: ``function_version``, ``routing``, ``description`` or
        ``provisioned_concurrency``; the others keep their values.

        :raises ~faaslib.ResourceNotFoundException: no such function, alias or version
        """
        current = self.get_alias(name, alias)
        if "name" in changes:
            raise InvalidParameterValueException(
                "An alias cannot be renamed; create a new one", function_name=name
            )
        return self._put_alias(name, dataclasses.replace(current, **changes))

    def delete_alias(self, name: str, alias: str, /) -> None:
        """Remove an alias.

        :raises ~faaslib.ResourceNotFoundException: no such function or alias
        """
        self.get_alias(name, alias)
        del self._aliases[name][alias]
        self._generation += 1

    def get_alias(self, name: str, alias: str, /) -> Alias:
        """:raises ~faaslib.ResourceNotFoundException: no such function or alias"""
        self.get(name)
        try:
            return self._aliases[name][alias]
        except KeyError:
            raise ResourceNotFoundException(
                f"Alias not found: {name}:{alias}", function_name=name
            ) from None

    def aliases(self, name: str, /) -> list[Alias]:
        """The aliases of a function, by name."""
        self.get(name)
        return sorted(self._aliases.get(name, {}).values(), key=lambda a: a.name)

    def _put_alias(self, name: str, alias: Alias) -> Alias:
        for version in (alias.function_version, *alias.routing):
            self.get_version(name, version)  # each must exist
        self._aliases.setdefault(name, {})[alias.name] = alias
        self._generation += 1
        return alias

    def add_permission(
        self,
        name: str,
        /,
        statement_id: str,
        principal: str,
        *,
        action: str = INVOKE,
        source_arn: str | None = None,
        source_account: str | None = None,
        qualifier: str | None = None,
    ) -> PolicyStatement:
        """Let ``principal`` invoke a function (or, with ``qualifier``, one of its versions or
        aliases, invoked by that qualifier), as Lambda's ``AddPermission`` does.

        Invokers check these only with ``check_permissions=True``. Principals of the invoker's
        own account need no statement, nor do the sources the function lists (see
        :class:`~faaslib.Trigger`).

        :param principal: an account id, an IAM ARN, an AWS service (``s3.amazonaws.com``)
            or ``*``
        :param source_arn: only when the service invokes for this resource (``*`` and ``?``
            match as in IAM's ``ArnLike``)
        :param source_account: only when the service invokes for a resource of this account
        :raises ~faaslib.ResourceNotFoundException: no such function, version or alias
        :raises ~faaslib.ResourceConflictException: the policy has a statement of that id
        :raises ~faaslib.ValidationException: a value breaks ``AddPermission``'s patterns
        """
        self._qualified(name, qualifier)
        statement = self._policies.add(
            name, qualifier, statement_id, principal, action, source_arn, source_account
        )
        self._generation += 1
        return statement

    def remove_permission(
        self, name: str, /, statement_id: str, *, qualifier: str | None = None
    ) -> None:
        """Remove a statement from a function's policy (``RemovePermission``).

        :raises ~faaslib.ResourceNotFoundException: no such function, qualifier or statement
        """
        self._qualified(name, qualifier)
        self._policies.remove(name, qualifier, statement_id)
        self._generation += 1

    def policy(self, name: str, /, *, qualifier: str | None = None) -> tuple[PolicyStatement, ...]:
        """The statements of a function's (or a version's or alias's) policy."""
        self._qualified(name, qualifier)
        return self.snapshot().policies.get((name, qualifier), ())

    def _qualified(self, name: str, qualifier: str | None) -> None:
        """Check that the function, and its version or alias ``qualifier``, exist."""
        if qualifier is None or qualifier == LATEST:
            self.get(name)
        elif qualifier.isdigit():
            self.get_version(name, qualifier)
        else:
            self.get_alias(name, qualifier)

    def include(self, other: Registry, *, prefix: str = "") -> None:
        """Add every function of ``other``, each name prefixed with ``prefix``.

        Destinations naming a function of ``other`` are renamed with it, so they still reach it.

        :raises ~faaslib.ResourceConflictException: a resulting name exists already
        :raises ~faaslib.ValidationException: a prefixed name breaks Lambda's name rules
        """

        def follow(destination: D) -> D:
            if isinstance(destination, str) and destination in other:
                return cast("D", prefix + destination)  # a name stays a name
            return destination

        def rename(spec: FunctionSpec) -> FunctionSpec:
            return dataclasses.replace(
                spec,
                name=prefix + spec.name,
                on_success=follow(spec.on_success),
                on_failure=follow(spec.on_failure),
                dead_letter=follow(spec.dead_letter),
            )

        renamed = [rename(spec) for spec in other]
        for spec in renamed:  # all or nothing: check every name before adding any
            self._check_free(spec.name)
            for trigger in spec.events:
                trigger._check_attach()
        self._specs.update((spec.name, spec) for spec in renamed)
        self._generation += 1
        for spec in renamed:
            for trigger in spec.events:
                trigger._attach()
        for name, published in other._versions.items():
            self._versions[prefix + name] = [rename(spec) for spec in published]
        for name, aliases in other._aliases.items():
            self._aliases[prefix + name] = dict(aliases)
        self._policies.include(other._policies, prefix)
        self._resources.update(other._resources)

    def state_machine(
        self,
        name: str,
        definition: str | Mapping[str, Any],
        /,
        *,
        type: MachineType = "STANDARD",
        role_arn: str | None = None,
        events: Sequence[Trigger] = (),
    ) -> StateMachine:
        """Add a Step Functions state machine whose tasks invoke this registry's functions::

            registry.state_machine("orders", Path("orders.asl.json").read_text())
            arn = await invoker.start_execution("orders", '{"id": 7}')

        :param definition: Amazon States Language, as JSON text or a dict (what a
            ``DefinitionString`` or an ``.asl.json`` file holds), checked now (the workflows
            extra)
        :param type: ``STANDARD`` (history kept) or ``EXPRESS`` (``start_sync_execution``)
        :param role_arn: the execution role (``$$.Execution.RoleArn``)
        :param events: triggers that start executions, as they invoke functions: a
            ``Schedule``, an ``EventBridgeRule`` (both as on AWS), or any other (a ``Queue``'s
            ``SQS`` trigger runs each batch as an execution to its end, as EventBridge Pipes
            would)
        :raises ~faaslib.InvalidDefinition: the definition breaks the States Language (the
            message lists every problem, naming the state and field); nothing is added
        :raises ~faaslib.StateMachineAlreadyExists: a machine of that name is registered
        """
        machine = self._machines.add(name, definition, type=type, role_arn=role_arn, events=events)
        self._generation += 1
        return machine

    @property
    def state_machines(self) -> StateMachines:
        """The registered state machines."""
        return self._machines

    def get(self, name: str) -> FunctionSpec:
        """Return the spec registered under ``name``.

        :raises ~faaslib.ResourceNotFoundException: no such function
        """
        try:
            return self._specs[name]
        except KeyError:
            raise ResourceNotFoundException(
                f"Function not found: {name}", function_name=name
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[FunctionSpec]:
        return iter(list(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"<Registry functions={sorted(self._specs)!r}>"


def _add_template(registry: Registry, application: TemplateApplication) -> None:
    """What a template holds, added to a new registry (see :meth:`Registry.from_template`).

    :raises ~faaslib.TemplateError: AWS would refuse a resource (a permission, a state
        machine); the message names it
    """
    for spec in application.functions:
        registry.add(spec)
    for name, alias, provisioned in application.aliases:
        version = registry.publish_version(name)
        registry.create_alias(name, alias, version, provisioned_concurrency=provisioned)
    registry._resources.update(application.resources)
    logical_id = ""
    try:
        for name, logical_id, statement in application.permissions:
            registry.add_permission(name, logical_id, **statement)
        for machine in application.machines:
            logical_id = machine.logical_id
            registry.state_machine(
                machine.name,
                machine.definition,
                type=machine.type,
                role_arn=machine.role_arn,
                events=machine.events,
            )
    except FaaslibError as exc:  # AddPermission or CreateStateMachine refuses
        raise TemplateError(f"Resources.{logical_id}: {exc}") from None
