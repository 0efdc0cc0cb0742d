"""The ``faaslib`` command (also ``python -m faaslib``): list, invoke, serve, describe and
export the functions of a registry named ``package.module:attribute``."""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio

from ._conversion import adapter_for
from ._errors import FaaslibError, TemplateWarning
from ._invoker import Invoker
from ._locate import RegistryNotFound, locate_registry

if TYPE_CHECKING:
    from ._registry import Registry

__all__ = ["main"]

#: Exit statuses: the function failed; the command could not run (bad arguments, a module
#: path or function that does not exist, a payload that is not JSON).
FUNCTION_FAILED = 1
USAGE = 2


class _Stop(Exception):
    """Stop the command with a message on standard error and an exit status."""

    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.status = status


def _registry(reference: str, overrides: Sequence[str] | None = None) -> Registry:
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: the project's modules import
    parameters = {}
    for override in overrides or ():
        key, equals, value = override.partition("=")
        if not (key and equals):
            raise _Stop(f"--parameter-overrides takes Key=Value, not {override!r}")
        parameters[key] = value
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TemplateWarning)
            registry = locate_registry(reference, parameters)
    except RegistryNotFound as exc:
        raise _Stop(str(exc)) from None
    for warning in caught:
        sys.stderr.write(f"warning: {warning.message}\n")
    return registry


def _list(args: argparse.Namespace) -> None:
    registry = _registry(args.registry, args.parameter_overrides)
    rows = [("NAME", "MEMORY", "TIMEOUT", "TRIGGERS")]
    for spec in registry:
        triggers = ", ".join(type(t).__name__ for t in spec.events) or "-"
        rows.append((spec.name, f"{spec.memory_size} MB", f"{spec.timeout:g} s", triggers))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        sys.stdout.write("  ".join(cells) + "  " + row[3] + "\n")


def _payload(args: argparse.Namespace) -> bytes:
    if args.payload_file is not None:
        try:
            with open(args.payload_file, "rb") as file:
                return file.read()
        except OSError as exc:
            raise _Stop(f"cannot read the payload file: {exc}") from None
    return (args.payload or "").encode()


async def _run_invoke(registry: Registry, args: argparse.Namespace, payload: bytes) -> int:
    sync = args.invocation_type == "RequestResponse"
    # Standard output is the result's alone: what the handler prints goes to the log (shown
    # from Lambda's log tail) or, for Event and DryRun, straight to standard error.
    with contextlib.redirect_stdout(io.StringIO() if sync else sys.stderr):
        async with Invoker(registry) as invoker:
            result = await invoker.invoke(
                args.function,
                payload,
                args.invocation_type,
                qualifier=args.qualifier,
                log_type="Tail" if sync else "None",
            )
            await invoker.drain()  # an Event invocation runs before the command ends
    if result.payload:
        sys.stdout.write(result.payload.decode(errors="replace") + "\n")
    if result.log_result is not None:
        log = base64.b64decode(result.log_result).decode(errors="replace")
        if args.log_type != "Tail":  # what the function logged, and the REPORT line
            log = "".join(
                line for line in log.splitlines(True) if not line.startswith(("START ", "END "))
            )
        sys.stderr.write(log)
    else:
        sys.stderr.write(f"StatusCode: {result.status_code}  RequestId: {result.request_id}\n")
    return FUNCTION_FAILED if result.function_error else 0


def _invoke(args: argparse.Namespace) -> int:
    registry = _registry(args.registry, args.parameter_overrides)
    payload = _payload(args)
    try:
        return anyio.run(_run_invoke, registry, args, payload)
    except FaaslibError as exc:
        raise _Stop(f"{exc.error_type}: {exc}") from None


def _schema(args: argparse.Namespace) -> None:
    registry = _registry(args.registry)
    if args.function not in registry:
        names = ", ".join(sorted(spec.name for spec in registry)) or "none"
        raise _Stop(f"no function {args.function!r} in {args.registry} (it has: {names})")
    event_type = registry.get(args.function).shape.event_type
    sys.stdout.write(json.dumps(adapter_for(event_type).json_schema(), indent=2) + "\n")


def _serve(args: argparse.Namespace) -> None:
    # A mistake stops here, before a server starts.
    registry = _registry(args.registry, args.parameter_overrides)
    if (args.auth == "sigv4") != (args.credentials is not None):
        raise _Stop("--auth sigv4 and --credentials FILE go together")
    try:
        from .server._serve import serve, serve_reloading

        if args.auth == "sigv4":
            from .server._auth import CredentialsError, load_credentials, require_botocore

            require_botocore()
    except ImportError as exc:
        raise _Stop(str(exc)) from None
    options: dict[str, Any] = {}
    if args.journal is not None:
        options["journal"] = os.path.abspath(args.journal)
        _check_journal(options["journal"])
    if args.credentials is not None:
        path = os.path.abspath(args.credentials)
        try:
            keys = load_credentials(args.credentials)  # a bad file stops here, not a server
        except CredentialsError as exc:
            raise _Stop(str(exc)) from None
        options["credentials"] = path if args.reload else keys  # a reloaded worker reads it
    if args.reload:
        if args.parameter_overrides:
            raise _Stop("--reload reads the template's parameter defaults only: drop one")
        serve_reloading(args.registry, host=args.host, port=args.port, **options)
    else:
        serve(registry, host=args.host, port=args.port, **options)


def _check_journal(path: str) -> None:
    """Open and close the journal (its events stay for the server): one it cannot open or
    write stops here, in one line, not as a server failing to start."""
    from ._journal import Journal

    async def probe() -> None:
        journal = Journal(path)
        await journal.open()
        await journal.close()

    try:
        anyio.run(probe)
    except FaaslibError as exc:
        raise _Stop(str(exc)) from None


def _export(args: argparse.Namespace) -> None:
    from .sam._export import export_sam

    registry = _registry(args.registry)
    exported = export_sam(registry, args.registry, code_uri=args.code_uri, runtime=args.runtime)
    text = json.dumps(exported.template, indent=2) + "\n"
    for warning in exported.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if args.output is None:
        sys.stdout.write(text)
        return
    try:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise _Stop(f"cannot write the template: {exc}") from None


def _export_zip(args: argparse.Namespace) -> None:
    from .sam._package import PackageError, build_zip

    code_dir = os.path.abspath(args.code_dir)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)  # the registry imports from the code it ships
    _registry(args.registry)  # a mistake stops here, before pip runs
    try:
        report = build_zip(
            args.registry,
            args.output,
            code_dir=code_dir,
            requirements=args.requirements,
            runtime=args.runtime,
            architecture=args.architecture,
        )
    except PackageError as exc:
        raise _Stop(str(exc)) from None
    for warning in report.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    sys.stderr.write(
        f"wrote {report.path}: {report.size / 2**20:.1f} MB zipped, "
        f"{report.unzipped_size / 2**20:.1f} MB unzipped, {report.files} files\n"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faaslib", description="Run the functions of a faaslib registry."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    registry_help = "the registry, as package.module:attribute, or a SAM template's path"
    overrides_help = "a template's parameter values, as Key=Value"

    listing = commands.add_parser("list", help="list the registry's functions")
    listing.add_argument("registry", help=registry_help)
    listing.add_argument("--parameter-overrides", nargs="+", help=overrides_help)
    listing.set_defaults(run=_list)

    invoke = commands.add_parser("invoke", help="invoke a function and print its result")
    invoke.add_argument("registry", help=registry_help)
    invoke.add_argument("function", help="a function name, name:qualifier or ARN")
    source = invoke.add_mutually_exclusive_group()
    source.add_argument("--payload", help="the event, as JSON text")
    source.add_argument("--payload-file", help="a file holding the event's JSON")
    invoke.add_argument(
        "--invocation-type",
        default="RequestResponse",
        choices=["RequestResponse", "Event", "DryRun"],
    )
    invoke.add_argument("--log-type", default="None", choices=["None", "Tail"])
    invoke.add_argument("--qualifier", help="a version or alias")
    invoke.add_argument("--parameter-overrides", nargs="+", help=overrides_help)
    invoke.set_defaults(run=_invoke)

    serve = commands.add_parser("serve", help="serve Lambda's Invoke API over HTTP")
    serve.add_argument("registry", help=registry_help)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9001)
    serve.add_argument("--journal", help="a file keeping accepted Event invocations")
    serve.add_argument(
        "--reload", action="store_true", help="restart when a Python file here changes"
    )
    serve.add_argument("--parameter-overrides", nargs="+", help=overrides_help)
    serve.add_argument(
        "--auth",
        choices=["none", "sigv4"],
        default="none",
        help="sigv4: Lambda's API (and AWS_IAM Function URLs) take only requests signed with "
        "AWS Signature Version 4 by a key of --credentials",
    )
    serve.add_argument(
        "--credentials",
        metavar="FILE",
        help='with --auth sigv4: a JSON file {"ACCESS_KEY_ID": {"secret_access_key": ..., '
        '"principal": "arn:aws:iam::123456789012:user/alice"}, ...}',
    )
    serve.set_defaults(run=_serve)

    schema = commands.add_parser("schema", help="print the JSON Schema of a function's event")
    schema.add_argument("registry", help=registry_help)
    schema.add_argument("function")
    schema.set_defaults(run=_schema)

    export = commands.add_parser("export", help="export the registry for AWS's tools")
    formats = export.add_subparsers(dest="format", required=True)
    sam = formats.add_parser("sam", help="an AWS SAM template (JSON)")
    sam.add_argument("registry", help=registry_help)
    sam.add_argument("--code-uri", default=".", help="the code's directory (CodeUri)")
    sam.add_argument("--runtime", default="python3.12", help="Lambda's Python runtime")
    sam.add_argument("-o", "--output", help="the template file (default: standard output)")
    sam.set_defaults(run=_export)
    package = formats.add_parser("zip", help="a deployment package for Lambda's Python runtime")
    package.add_argument("registry", help="the registry, as package.module:attribute")
    package.add_argument("-o", "--output", required=True, help="the zip file to write")
    package.add_argument("--code-dir", default=".", help="the directory of the application's code")
    package.add_argument("--requirements", help="a pip requirements file: the code's dependencies")
    package.add_argument("--runtime", default="python3.12", help="Lambda's Python runtime")
    package.add_argument("--architecture", default="x86_64", choices=["x86_64", "arm64"])
    package.set_defaults(run=_export_zip)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    args = _parser().parse_args(argv)
    try:
        status = args.run(args)
    except _Stop as stop:
        sys.stderr.write(f"faaslib {args.command}: {stop}\n")
        return stop.status
    return int(status or 0)
