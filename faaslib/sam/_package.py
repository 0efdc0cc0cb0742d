"""A registry's deployment package for AWS Lambda's Python runtime (``faaslib export zip``).

The zip's root is Lambda's ``/var/task`` (on ``sys.path``) and holds, in three layers:

1. faaslib's runtime dependencies and the application's ``requirements``, installed by pip
   for the runtime's Python version and architecture, from wheels only (Lambda cannot build
   a package from source): manylinux wheels up to the runtime's glibc (2.26 for python3.11
   and older, on Amazon Linux 2; 2.34 for python3.12 and newer, on Amazon Linux 2023);
2. ``faaslib/``, the installed faaslib package's files (``faaslib/server`` too: without the
   server extra on AWS it is never imported, and its import error names the extra), and its
   ``METADATA``;
3. the code directory's files: everything but caches (``__pycache__``, ``*.pyc``, tools'
   caches), version control, virtual environments (any directory holding ``pyvenv.cfg``,
   and ``.venv``), ``node_modules``, ``.aws-sam`` (``sam build``'s copies) and the output.

A layer that has a top-level name (``pydantic``, ``faaslib``) replaces that name of an
earlier layer whole, so two copies of one package never mix. Scripts pip installs (``bin/``)
and byte code are left out: Lambda runs neither, and ``/var/task`` is read-only.

The same inputs give the same bytes: entries in sorted order, each dated 1980-01-01, files
mode 0o644 (0o755 when executable here), directories 0o755.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["UNZIPPED_LIMIT", "ZIPPED_LIMIT", "PackageError", "PackageReport", "build_zip"]

#: Lambda's limits on a deployment package: zipped for a direct upload, and unzipped.
ZIPPED_LIMIT = 50 * 2**20
UNZIPPED_LIMIT = 250 * 2**20

_ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
_RUNTIME = re.compile(r"python3\.(\d+)")
_EXCLUDED_DIRS = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        ".aws-sam",
        "node_modules",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
    }
)
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_EPOCH = (1980, 1, 1, 0, 0, 0)
_NO_WHEEL = re.compile(r"No matching distribution found for (\S+)")
_FAASLIB = Path(__file__).resolve().parent.parent  # the installed faaslib package

#: An entry's content: a file to copy, or bytes.
Source = Path | bytes


class PackageError(Exception):
    """The package could not be built: a runtime or architecture Lambda has not, a reference
    or code directory that does not hold the registry's code, a requirement pip could not
    install for the platform, an output that cannot be written. The message says which;
    nothing was written."""


@dataclass(frozen=True)
class PackageReport:
    """What :func:`build_zip` wrote.

    :ivar path: the zip file
    :ivar size: its size in bytes
    :ivar unzipped_size: the files' size once unzipped, in bytes
    :ivar files: how many files it holds
    :ivar warnings: what to know before deploying it (a size over Lambda's limits, ...)
    """

    path: str
    size: int
    unzipped_size: int
    files: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Platform:
    runtime: str
    architecture: str
    python_version: str
    glibc: str
    platforms: tuple[str, ...]


def _platform(runtime: str, architecture: str) -> _Platform:
    match = _RUNTIME.fullmatch(runtime)
    if match is None or int(match.group(1)) < 10:
        raise PackageError(
            f"{runtime!r} is not a Python runtime faaslib runs on: python3.10 or newer"
        )
    arch = _ARCHITECTURES.get(architecture)
    if arch is None:
        raise PackageError(f"{architecture!r} is not Lambda's x86_64 or arm64")
    minor = int(match.group(1))
    glibc = 34 if minor >= 12 else 26
    oldest = 5 if arch == "x86_64" else 17
    tags = [f"manylinux_2_{n}_{arch}" for n in range(glibc, oldest - 1, -1)]
    tags.append(f"manylinux2014_{arch}")  # pip adds manylinux2010 and manylinux1 on x86_64
    return _Platform(runtime, architecture, f"3.{minor}", f"2.{glibc}", tuple(tags))


def _check_code(reference: str, code_dir: Path) -> None:
    module, colon, attribute = reference.partition(":")
    if not (colon and module and attribute):
        raise PackageError(f"{reference!r} is not 'package.module:attribute'")
    top = module.split(".")[0]
    if not code_dir.is_dir():
        raise PackageError(f"the code directory {str(code_dir)!r} is not a directory")
    if not ((code_dir / top).is_dir() or (code_dir / f"{top}.py").is_file()):
        raise PackageError(
            f"{reference!r}: no package {top!r} or module '{top}.py' in the code directory "
            f"{str(code_dir)!r}"
        )


def _faaslib_requirements() -> list[str]:
    """faaslib's runtime dependencies, as its installed metadata declares them."""
    try:
        declared = importlib.metadata.requires("faaslib") or []
    except importlib.metadata.PackageNotFoundError:
        raise PackageError(
            "faaslib is not installed (pip install faaslib): its metadata names its dependencies"
        ) from None
    return [req for req in declared if not re.search(r"\bextra\s*==", req)]


def _pip_error(stderr: str, platform: _Platform) -> PackageError:
    errors = [line for line in stderr.splitlines() if line.startswith("ERROR:")]
    said = " ".join(errors or stderr.strip().splitlines()[-3:])
    where = f"{platform.runtime} on {platform.architecture}"
    missing = _NO_WHEEL.search(stderr)
    if missing:
        return PackageError(
            f"no wheel of {missing.group(1)!r} for Lambda's {where} (manylinux, up to glibc "
            f"{platform.glibc}): Lambda cannot build it from source; "
            f"pick a version that has such a wheel. pip: {said}"
        )
    if "No module named pip" in stderr:
        return PackageError(f"pip is not installed for {sys.executable}: {said}")
    return PackageError(f"pip could not install the dependencies for {where}: {said}")


def _pip_install(requirements: str | None, platform: _Platform, target: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "--target", str(target)]
    command += ["--implementation", "cp", "--python-version", platform.python_version]
    for tag in platform.platforms:
        command += ["--platform", tag]
    command += ["--only-binary=:all:", "--upgrade", "--no-compile", "--no-input", "--quiet"]
    command += ["--disable-pip-version-check", "--no-warn-conflicts", "--no-warn-script-location"]
    command += _faaslib_requirements()
    if requirements is not None:
        command += ["--requirement", requirements]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise _pip_error(done.stderr, platform)


def _walk(root: Path, skip: frozenset[Path] = frozenset()) -> Iterator[tuple[str, Path]]:
    """``(name in the zip, file)`` for each file under ``root`` that ships."""
    seen: set[str] = set()
    for top, dirs, files in os.walk(root, followlinks=True):
        here = Path(top)
        real = os.path.realpath(here)
        if real in seen:  # a symbolic link back up the tree
            dirs.clear()
            continue
        seen.add(real)
        dirs[:] = [
            d for d in dirs if d not in _EXCLUDED_DIRS and not (here / d / "pyvenv.cfg").is_file()
        ]
        for name in files:
            path = here / name
            if name.endswith(_EXCLUDED_SUFFIXES) or path.resolve() in skip:
                continue
            yield path.relative_to(root).as_posix(), path


def _layer(entries: dict[str, Source], layer: Mapping[str, Source]) -> None:
    """Add ``layer`` to ``entries``; its top-level names replace theirs whole."""
    tops = {name.split("/")[0] for name in layer}
    for name in [name for name in entries if name.split("/")[0] in tops]:
        del entries[name]
    entries.update(layer)


def _faaslib_layer() -> dict[str, Source]:
    layer: dict[str, Source] = {f"faaslib/{name}": path for name, path in _walk(_FAASLIB)}
    distribution = importlib.metadata.distribution("faaslib")
    metadata = distribution.read_text("METADATA")
    if metadata is not None:
        layer[f"faaslib-{distribution.version}.dist-info/METADATA"] = metadata.encode()
    return layer


def _mode(source: Source) -> int:
    if isinstance(source, Path) and os.stat(source).st_mode & 0o111:
        return 0o755
    return 0o644


def _write(entries: Mapping[str, Source], output: Path) -> int:
    """Write the zip; return the files' unzipped size."""
    directories = {
        name.rsplit("/", n)[0] for name in entries for n in range(1, name.count("/") + 1)
    }
    unzipped = 0
    with zipfile.ZipFile(output, "w") as archive:
        for name in sorted({f"{d}/" for d in directories} | set(entries)):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = 3  # Unix, so that the modes count
            if name.endswith("/"):
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                archive.writestr(info, b"")
                continue
            source = entries[name]
            data = source if isinstance(source, bytes) else source.read_bytes()
            info.external_attr = (stat.S_IFREG | _mode(source)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=6)
            unzipped += len(data)
    return unzipped


def _size_warnings(size: int, unzipped: int) -> list[str]:
    warnings = []
    if size > ZIPPED_LIMIT:
        warnings.append(
            f"the package is {size / 2**20:.1f} MB zipped, over Lambda's 50 MB limit for a "
            "direct upload: deploy it through S3 (sam deploy does)"
        )
    if unzipped > UNZIPPED_LIMIT:
        warnings.append(
            f"the package is {unzipped / 2**20:.1f} MB unzipped, over Lambda's 250 MB limit: "
            "Lambda will refuse it (ship fewer dependencies, or a container image)"
        )
    return warnings


def _marker_warning(platform: _Platform) -> list[str]:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if here == platform.python_version:
        return []
    message = (
        f"pip read the requirements' environment markers (python_version < ...) for this "
        f"Python, {here}, not {platform.runtime}'s {platform.python_version}: a dependency "
        f"only {platform.runtime} needs may be missing (run faaslib export zip on Python "
        f"{platform.python_version}, or list it in --requirements)"
    )
    return [message]


def build_zip(
    reference: str,
    output: str | os.PathLike[str],
    *,
    code_dir: str | os.PathLike[str] = ".",
    requirements: str | os.PathLike[str] | None = None,
    runtime: str = "python3.12",
    architecture: str = "x86_64",
) -> PackageReport:
    """Write the deployment package of the registry ``reference`` names to ``output``.

    The registry is not imported: ``reference``'s top-level package or module must be in
    ``code_dir``. ``pip`` (of this Python) installs the dependencies, from PyPI or what pip
    is configured with.

    :param reference: the registry, as ``package.module:attribute`` (``FAASLIB_REGISTRY``)
    :param output: the zip file to write (replaced if it exists)
    :param code_dir: the directory holding the application's top-level package or module
    :param requirements: a pip requirements file of the application's own dependencies
    :param runtime: Lambda's runtime, ``python3.10`` or newer
    :param architecture: ``x86_64`` or ``arm64``
    :return: the zip's path, sizes and warnings
    :raises PackageError: the package could not be built; nothing was written
    """
    platform = _platform(runtime, architecture)
    code = Path(code_dir).resolve()
    _check_code(reference, code)
    if requirements is not None and not os.path.isfile(requirements):
        raise PackageError(f"the requirements file {os.fspath(requirements)!r} does not exist")
    target = Path(output).resolve()
    if target.is_dir():
        raise PackageError(f"cannot write {os.fspath(output)!r}: it is a directory")
    if not target.parent.is_dir():
        raise PackageError(
            f"cannot write {os.fspath(output)!r}: no directory {str(target.parent)!r}"
        )
    partial = target.with_name(target.name + ".partial")
    entries: dict[str, Source] = {}
    with tempfile.TemporaryDirectory(prefix="faaslib-zip-") as staging:
        reqs = None if requirements is None else os.path.abspath(requirements)
        _pip_install(reqs, platform, Path(staging))
        _layer(entries, {n: p for n, p in _walk(Path(staging)) if not n.startswith("bin/")})
        _layer(entries, _faaslib_layer())
        _layer(entries, dict(_walk(code, frozenset({target, partial}))))
        try:
            unzipped = _write(entries, partial)
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise PackageError(f"cannot write {os.fspath(output)!r}: {exc}") from None
    size = target.stat().st_size
    warnings = _marker_warning(platform) + _size_warnings(size, unzipped)
    return PackageReport(str(target), size, unzipped, len(entries), tuple(warnings))
