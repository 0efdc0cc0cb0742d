"""AWS CodeCommit: ``Repository``, an in-memory repository of branches whose reference
changes fire its triggers, and the ``CodeCommit`` trigger (a repository trigger whose
destination is the function; push model).

CodeCommit invokes a trigger's function asynchronously (invocation type Event), as
``codecommit.amazonaws.com`` with the repository's ARN, with one record listing the
references a push changed that the trigger's events and branches select.
"""

from __future__ import annotations

import datetime
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import FaaslibError
from .push import Notification, PushSource, PushTrigger
from .records import records_event

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import Site

__all__ = [
    "BranchNameExistsException",
    "CodeCommit",
    "CodeCommitError",
    "CommitDoesNotExistException",
    "DefaultBranchCannotBeDeletedException",
    "Repository",
    "codecommit_event",
    "codecommit_record",
]

TRIGGER_EVENTS = ("all", "updateReference", "createReference", "deleteReference")
MAX_BRANCHES = 100
MAX_CUSTOM_DATA = 1000
_REPOSITORY = re.compile(r"[\w.-]{1,100}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
# git check-ref-format's main rules: no control characters, spaces, ~^:?*[\ or "..".
_BAD_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^/|/$|\.$|\.lock$|^-")


class CodeCommitError(FaaslibError):
    """Root of the errors a :class:`Repository` or a :class:`CodeCommit` trigger raises,
    named as CodeCommit's API names them (HTTP 400); nothing changed."""

    error_type = "CodeCommitError"
    message_member = "message"
    status_code = 400
    fault = "User"


class BranchNameExistsException(CodeCommitError):
    """The branch to create already exists."""

    error_type = "BranchNameExistsException"


class CommitDoesNotExistException(CodeCommitError, LookupError):
    """No commit of the repository has that id."""

    error_type = "CommitDoesNotExistException"


class DefaultBranchCannotBeDeletedException(CodeCommitError):
    """The default branch cannot be deleted."""

    error_type = "DefaultBranchCannotBeDeletedException"


class InvalidBranchNameException(CodeCommitError, ValueError):
    """A branch name git refuses."""

    error_type = "InvalidBranchNameException"


class InvalidCommitIdException(CodeCommitError, ValueError):
    """Not a full 40-digit commit id."""

    error_type = "InvalidCommitIdException"


class InvalidRepositoryNameException(CodeCommitError, ValueError):
    """A repository name CodeCommit refuses."""

    error_type = "InvalidRepositoryNameException"


class InvalidRepositoryTriggerEventsException(CodeCommitError, ValueError):
    """A trigger's events are not CodeCommit's."""

    error_type = "InvalidRepositoryTriggerEventsException"


class InvalidRepositoryTriggerCustomDataException(CodeCommitError, ValueError):
    """A trigger's custom data is too long."""

    error_type = "InvalidRepositoryTriggerCustomDataException"


class MaximumBranchesExceededException(CodeCommitError, ValueError):
    """A trigger names more than 100 branches."""

    error_type = "MaximumBranchesExceededException"


@dataclass(frozen=True)
class _Change:
    """One reference a push or branch call changed."""

    branch: str
    commit: str
    kind: str  # createReference, updateReference, deleteReference

    def reference(self) -> dict[str, Any]:
        ref: dict[str, Any] = {"commit": self.commit, "ref": f"refs/heads/{self.branch}"}
        if self.kind == "createReference":
            ref["created"] = True
        elif self.kind == "deleteReference":
            ref["deleted"] = True
        return ref


class Repository(PushSource):
    """An in-memory CodeCommit repository: branches pointing at commits.

    ``push``, ``create_branch`` and ``delete_branch`` fire each :class:`CodeCommit` trigger
    whose events and branches select the change (a ``ReferenceChanges`` event);
    :meth:`test_repository_triggers` sends each trigger a ``TriggerEventTest`` event. The
    first branch pushed becomes the default branch.
    """

    def __init__(
        self,
        name: str,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not _REPOSITORY.fullmatch(name) or name.endswith(".git"):
            raise InvalidRepositoryNameException(
                f"Repository name {name!r}: 1-100 letters, digits, '.', '_' and '-', "
                "not ending in .git"
            )
        super().__init__(region, account_id, clock)
        self.name = name
        self.repository_id = str(uuid.uuid4())
        self.branches: dict[str, str] = {}
        self.default_branch: str | None = None
        self._commits: set[str] = set()

    @property
    def arn(self) -> str:
        return f"arn:aws:codecommit:{self.region}:{self.account_id}:{self.name}"

    def push(
        self, branch: str, commit_id: str | None = None, *, user_arn: str | None = None
    ) -> str:
        """Push a commit (a new random id by default) to ``branch``, creating the branch if
        it is new; return the commit id. Fires ``createReference`` or ``updateReference``.

        :param user_arn: who pushed (``userIdentityARN``; default the account's root)
        """
        _check_branch(branch)
        commit = _commit(commit_id) if commit_id is not None else secrets.token_hex(20)
        self._commits.add(commit)
        kind = "updateReference" if branch in self.branches else "createReference"
        self.branches[branch] = commit
        if self.default_branch is None:
            self.default_branch = branch
        self._notify([_Change(branch, commit, kind)], user_arn)
        return commit

    def create_branch(self, branch: str, commit_id: str, *, user_arn: str | None = None) -> None:
        """Create ``branch`` at a commit of the repository (CreateBranch).

        :raises BranchNameExistsException: the branch exists
        :raises CommitDoesNotExistException: the repository has no such commit
        """
        _check_branch(branch)
        commit = _commit(commit_id)
        if branch in self.branches:
            raise BranchNameExistsException(f"Branch {branch} already exists")
        if commit not in self._commits:
            raise CommitDoesNotExistException(f"Commit {commit} does not exist")
        self.branches[branch] = commit
        self._notify([_Change(branch, commit, "createReference")], user_arn)

    def delete_branch(self, branch: str, *, user_arn: str | None = None) -> str | None:
        """Delete ``branch`` (DeleteBranch); return the commit it pointed at, ``None`` if
        there was no such branch (nothing fires).

        :raises DefaultBranchCannotBeDeletedException: it is the default branch
        """
        _check_branch(branch)
        if branch == self.default_branch:
            raise DefaultBranchCannotBeDeletedException(
                f"The default branch {branch} cannot be deleted"
            )
        commit = self.branches.pop(branch, None)
        if commit is not None:
            self._notify([_Change(branch, commit, "deleteReference")], user_arn)
        return commit

    def test_repository_triggers(self, *, user_arn: str | None = None) -> list[str]:
        """Send each trigger a ``TriggerEventTest`` event (TestRepositoryTriggers) naming the
        head of its first branch that exists (else of the default branch); return the
        names of the triggers it was sent to."""
        tested = []
        for trigger in self._triggers():
            wanted = [b for b in trigger.branches if b in self.branches]
            branch = wanted[0] if wanted else self.default_branch
            changes = [] if branch is None else [_Change(branch, self.branches[branch], "")]
            trigger.emit(self._event(trigger, changes, user_arn, "TriggerEventTest"))
            tested.append(trigger.name)
        return tested

    def _triggers(self) -> list[CodeCommit]:
        return [t for t in self._subscribers if isinstance(t, CodeCommit)]

    def _notify(self, changes: list[_Change], user_arn: str | None) -> None:
        for trigger in self._triggers():
            chosen = [c for c in changes if trigger.selects(c.kind, c.branch)]
            if chosen:
                trigger.emit(self._event(trigger, chosen, user_arn, "ReferenceChanges"))

    def _event(
        self, trigger: CodeCommit, changes: list[_Change], user_arn: str | None, name: str
    ) -> Notification:
        sent_at = self._sent_at()
        references = [c.reference() for c in changes]

        def event() -> dict[str, Any]:
            record = codecommit_record(
                references,
                repository_arn=self.arn,
                region=self.region,
                time=self.clock.time() if sent_at is None else sent_at,
                trigger_name=trigger.name,
                trigger_config_id=trigger.trigger_config_id,
                custom_data=trigger.custom_data,
                user_arn=user_arn or f"arn:aws:iam::{self.account_id}:root",
                event_name=name,
            )
            return records_event([record])

        return event

    def __repr__(self) -> str:
        return f"<Repository {self.name} branches={len(self.branches)}>"


@dataclass(frozen=True, eq=False)
class CodeCommit(PushTrigger):
    """A repository trigger whose destination is the function: invoke it (invocation type
    Event) when the :class:`Repository`'s references change.

    :param repository: the repository
    :param events: ``["all"]`` (default), or any of ``updateReference`` (a push to an
        existing branch), ``createReference`` (a new branch) and ``deleteReference``
    :param branches: the branches it fires for (up to 100); empty: all of them
    :param custom_data: text sent as the record's ``customData`` (up to 1,000 characters)
    :param name: the trigger's name (``eventTriggerName``)
    """

    faas_trigger: ClassVar[str] = "datasource"

    repository: Repository
    events: Sequence[str] = ("all",)
    branches: Sequence[str] = ()
    custom_data: str | None = None
    name: str = "lambda-trigger"
    trigger_config_id: str = field(default_factory=lambda: str(uuid.uuid4()), init=False)

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        return "codecommit.amazonaws.com", self.repository.arn

    def __post_init__(self) -> None:
        if not isinstance(self.repository, Repository):
            raise InvalidRepositoryNameException("CodeCommit trigger needs a faaslib.Repository")
        events = (self.events,) if isinstance(self.events, str) else tuple(self.events)
        if not events or any(e not in TRIGGER_EVENTS for e in events):
            raise InvalidRepositoryTriggerEventsException(
                f"Trigger events {list(events)}: each one of {', '.join(TRIGGER_EVENTS)}"
            )
        if "all" in events and len(events) > 1:
            raise InvalidRepositoryTriggerEventsException(
                "The valid value all cannot be used with any other values."
            )
        branches = (self.branches,) if isinstance(self.branches, str) else tuple(self.branches)
        if len(branches) > MAX_BRANCHES:
            raise MaximumBranchesExceededException(
                f"A trigger names at most {MAX_BRANCHES} branches: {len(branches)}"
            )
        for branch in branches:
            _check_branch(branch)
        if self.custom_data is not None and len(self.custom_data) > MAX_CUSTOM_DATA:
            raise InvalidRepositoryTriggerCustomDataException(
                f"Custom data is at most {MAX_CUSTOM_DATA} characters"
            )
        object.__setattr__(self, "events", events)
        object.__setattr__(self, "branches", branches)

    @property
    def source(self) -> Repository:
        return self.repository

    def selects(self, kind: str, branch: str) -> bool:
        """Whether a change of ``kind`` to ``branch`` fires this trigger."""
        return ("all" in self.events or kind in self.events) and (
            not self.branches or branch in self.branches
        )


def _check_branch(branch: object) -> None:
    if not isinstance(branch, str) or not 1 <= len(branch) <= 256 or _BAD_BRANCH.search(branch):
        raise InvalidBranchNameException(f"The branch name is not valid: {branch!r}")


def _commit(commit_id: object) -> str:
    if not isinstance(commit_id, str) or not _COMMIT.fullmatch(commit_id):
        raise InvalidCommitIdException(f"The commit ID is not valid: {commit_id!r}")
    return commit_id


# -- Records -----------------------------------------------------------------------------------


def _event_time(seconds: float) -> str:
    """CodeCommit's record time: ``2026-12-05T09:30:58.123+0000``."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def codecommit_record(
    references: Sequence[dict[str, Any]],
    *,
    repository_arn: str,
    region: str,
    time: float,
    trigger_name: str,
    trigger_config_id: str,
    custom_data: str | None,
    user_arn: str,
    event_name: str = "ReferenceChanges",
) -> dict[str, Any]:
    """One record of a CodeCommit trigger's event (its keys in CodeCommit's order)."""
    return {
        "awsRegion": region,
        "codecommit": {"references": [dict(r) for r in references]},
        "customData": custom_data,
        "eventId": str(uuid.uuid4()),
        "eventName": event_name,
        "eventPartNumber": 1,
        "eventSource": "aws:codecommit",
        "eventSourceARN": repository_arn,
        "eventTime": _event_time(time),
        "eventTotalParts": 1,
        "eventTriggerConfigId": trigger_config_id,
        "eventTriggerName": trigger_name,
        "eventVersion": "1.0",
        "userIdentityARN": user_arn,
    }


def codecommit_event(
    branch: str = "main",
    commit: str | None = None,
    *,
    created: bool = False,
    deleted: bool = False,
    repository: str = "my-repo",
    custom_data: str | None = None,
    trigger_name: str = "lambda-trigger",
    event_name: str = "ReferenceChanges",
    time: float | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    user_arn: str | None = None,
) -> dict[str, Any]:
    """A CodeCommit trigger's event for one changed branch (for tests): ``created`` for a
    new branch, ``deleted`` for a deleted one; a random commit id unless given."""
    reference: dict[str, Any] = {
        "commit": commit or secrets.token_hex(20),
        "ref": f"refs/heads/{branch}",
    }
    if created:
        reference["created"] = True
    if deleted:
        reference["deleted"] = True
    record = codecommit_record(
        [reference],
        repository_arn=f"arn:aws:codecommit:{region}:{account_id}:{repository}",
        region=region,
        time=datetime.datetime.now(datetime.timezone.utc).timestamp() if time is None else time,
        trigger_name=trigger_name,
        trigger_config_id=str(uuid.uuid4()),
        custom_data=custom_data,
        user_arn=user_arn or f"arn:aws:iam::{account_id}:root",
        event_name=event_name,
    )
    return records_event([record])
