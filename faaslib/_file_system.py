"""Amazon EFS for Lambda: ``FileSystem``, a local directory that a function sees at its
configured mount path (Lambda's ``FileSystemConfigs``), shared by all its environments.

Lambda mounts a function's file system when an execution environment starts, before the init
code runs; every environment of every function configured with it reads and writes the same
files. faaslib makes the directory appear at the mount path with a symbolic link, made when
the first environment that needs it starts and removed when the last invoker using it
closes, so code that opens ``/mnt/data/...`` runs unchanged in threads and in worker
processes. A mount that cannot be made fails the invocation with Lambda's
``EFSMountFailureException`` (403), as on AWS.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import FaaslibError, ValidationException

__all__ = ["EFSMountFailureException", "FileSystem", "Mount", "mount"]

#: Lambda's pattern for ``LocalMountPath``, and its length limit.
_MOUNT_PATH = re.compile(r"/mnt/[a-zA-Z0-9-_.]+")
MAX_MOUNT_PATH = 160


class EFSMountFailureException(FaaslibError):
    """The function's file system could not be mounted (a permission or configuration
    problem): the invocation did not run."""

    error_type = "EFSMountFailureException"
    message_member = "message"
    status_code = 403
    fault = "User"


@dataclass(frozen=True, init=False)
class FileSystem:
    """An EFS file system (through its access point) as a function mounts it.

    ``@registry.function(file_system=faaslib.FileSystem(tmp_path, mount_path="/mnt/data"))``:
    the function's code reads and writes ``/mnt/data/...``, and the files are in
    ``directory`` (created if missing).

    :param directory: the local directory holding the file system's files
    :param mount_path: where functions see it: Lambda's ``LocalMountPath``, ``/mnt/<name>``
    :param name: the access point's id in :meth:`arn` (default: derived from ``directory``)
    :raises ~faaslib.ValidationException: ``mount_path`` is not ``/mnt/`` and one name
    """

    directory: Path
    mount_path: str
    name: str = field(compare=False)

    def __init__(
        self, directory: str | os.PathLike[str], mount_path: str = "/mnt/efs", name: str = ""
    ) -> None:
        if (
            not isinstance(mount_path, str)
            or len(mount_path) > MAX_MOUNT_PATH
            or not _MOUNT_PATH.fullmatch(mount_path)
        ):
            raise ValidationException(
                "fileSystemConfigs.1.member.localMountPath",
                mount_path,
                "Member must satisfy regular expression pattern: ^/mnt/[a-zA-Z0-9-_.]+$ "
                f"and have length less than or equal to {MAX_MOUNT_PATH}",
            )
        absolute = Path(directory).absolute()
        if not name:
            name = "fsap-" + hashlib.sha256(str(absolute).encode()).hexdigest()[:17]
        object.__setattr__(self, "directory", absolute)
        object.__setattr__(self, "mount_path", mount_path)
        object.__setattr__(self, "name", name)

    def arn(self, region: str = "us-east-1", account: str = "123456789012") -> str:
        """The access point's ARN, as ``FileSystemConfigs[].Arn`` names it."""
        return f"arn:aws:elasticfilesystem:{region}:{account}:access-point/{self.name}"


class Mount:
    """One holder's use of a mounted file system: :meth:`release` it when done."""

    __slots__ = ("_released", "file_system")

    def __init__(self, file_system: FileSystem) -> None:
        self.file_system = file_system
        self._released = False

    def release(self) -> None:
        """Give the mount up; the last holder's release removes the link (idempotent)."""
        if self._released:
            return
        self._released = True
        _table.release(self.file_system)


def mount(file_system: FileSystem) -> Mount:
    """Make ``file_system``'s directory visible at its mount path, for one holder.

    :raises EFSMountFailureException: the mount path is taken by something else, or the link
        cannot be made there (no write access to ``/mnt``, for instance)
    """
    _table.acquire(file_system)
    return Mount(file_system)


class _MountTable:
    """The mounts this process holds: each mount path, its directory and its holders."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[Path, int]] = {}

    def acquire(self, file_system: FileSystem) -> None:
        path, directory = file_system.mount_path, file_system.directory
        with self._lock:
            held = self._held.get(path)
            if held is not None:
                if held[0] != directory:
                    raise _failure(path, f"it is the mount path of {held[0]} already")
                self._held[path] = (directory, held[1] + 1)
                return
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _failure(path, f"its directory {directory} cannot be made: {exc}") from None
            _link(path, directory)
            self._held[path] = (directory, 1)

    def release(self, file_system: FileSystem) -> None:
        path = file_system.mount_path
        with self._lock:
            held = self._held.get(path)
            if held is None:
                return
            if held[1] > 1:
                self._held[path] = (held[0], held[1] - 1)
                return
            del self._held[path]
            if _links_to(path, held[0]):
                os.unlink(path)


def _link(path: str, directory: Path) -> None:
    """Link ``path`` to ``directory``: a link there already to it is adopted, and a dangling
    one (left by a process that died) replaced; anything else is not faaslib's to take."""
    if os.path.islink(path):
        if _links_to(path, directory):
            return
        if os.path.exists(path):
            raise _failure(path, f"it links to {os.readlink(path)}, another file system")
        os.unlink(path)
    elif os.path.lexists(path):
        raise _failure(path, "something that is not a file system's mount is there")
    try:
        os.symlink(directory, path, target_is_directory=True)
    except OSError as exc:
        raise _failure(path, f"the link cannot be made ({exc.strerror})") from None


def _links_to(path: str, directory: Path) -> bool:
    return os.path.islink(path) and Path(os.path.realpath(path)) == directory.resolve()


def _failure(path: str, reason: str) -> EFSMountFailureException:
    return EFSMountFailureException(
        f"The function couldn't mount the configured file system at {path}: {reason}."
    )


_table = _MountTable()
