"""Running the application under uvicorn: in the foreground (``faaslib serve``), or in a
background thread for tests and scripts (:class:`Server`)."""

from __future__ import annotations

import os
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn
from typing_extensions import Self

from .._locate import is_template
from ._app import create_app
from ._reload import environment

if TYPE_CHECKING:
    from .._registry import Registry
    from ._auth import CredentialsSource

__all__ = ["DEFAULT_HOST", "Server", "serve", "serve_reloading"]

#: The server listens on the loopback interface unless told otherwise.
DEFAULT_HOST = "127.0.0.1"


def _config(
    registry: Registry,
    host: str,
    port: int,
    credentials: CredentialsSource | None,
    invoker_options: dict[str, Any],
) -> Any:
    app = create_app(registry, credentials=credentials, **invoker_options)
    return uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")


def serve(
    registry: Registry,
    *,
    host: str = DEFAULT_HOST,
    port: int = 9001,
    credentials: CredentialsSource | None = None,
    **invoker_options: Any,
) -> None:
    """Serve ``registry`` until interrupted (Ctrl-C or SIGTERM), then stop gracefully: requests
    in flight finish and the invoker closes. With ``credentials`` (a credentials file's path,
    or its keys), Lambda's API answers only SigV4-signed requests (see :func:`create_app`)."""
    try:
        uvicorn.Server(_config(registry, host, port, credentials, invoker_options)).run()
    except KeyboardInterrupt:  # uvicorn raises the signal again once it has shut down
        pass


def serve_reloading(
    reference: str,
    *,
    host: str = DEFAULT_HOST,
    port: int = 9001,
    watch: list[str] | None = None,
    credentials: str | os.PathLike[str] | None = None,
    **invoker_options: Any,
) -> None:
    """Serve the registry ``reference`` names (``package.module:attribute``, or a SAM
    template's path) from a worker process that restarts whenever a Python file (or the
    template) under ``watch`` changes, so edited handlers answer the next request without a
    restart. ``watch`` is the current directory by default (a template's own directory).
    ``credentials`` is a credentials file's path, read again by each worker."""
    options = dict(invoker_options)
    if credentials is not None:  # the worker's create_app takes it with the invoker's options
        options["credentials"] = os.path.abspath(credentials)
    os.environ.update(environment(reference, options))
    includes = ["*.py"]
    if is_template(reference):
        includes.append(os.path.basename(reference))
        watch = watch or [os.path.dirname(os.path.abspath(reference))]
    try:
        uvicorn.run(
            "faaslib.server._reload:build_app",
            factory=True,
            host=host,
            port=port,
            reload=True,
            reload_dirs=watch or [os.getcwd()],
            reload_includes=includes,
            reload_delay=0.1,
            log_level="warning",
        )
    except KeyboardInterrupt:
        pass


class Server:
    """The server in a background thread, on a free port unless given one.

    ``with faaslib.server.Server(registry) as server:`` then point a client at
    ``server.url`` (``endpoint_url=server.url`` for boto3).

    :param registry: the functions to serve
    :param host: the interface to listen on (the loopback one by default)
    :param port: the port; 0 (the default) picks a free one
    :param credentials: a credentials file's path, or its keys: Lambda's API then answers only
        SigV4-signed requests (see :func:`~faaslib.server.create_app`)
    :param invoker_options: passed to :class:`~faaslib.Invoker`
    :raises ~faaslib.server.CredentialsError: the credentials file is not a valid one
    """

    def __init__(
        self,
        registry: Registry,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        credentials: CredentialsSource | None = None,
        **invoker_options: Any,
    ) -> None:
        config = _config(registry, host, port, credentials, invoker_options)  # may refuse
        self._socket = socket.socket(
            socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )  # TCP_NODELAY: asyncio sets it only for IPPROTO_TCP
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        config.port = self.port
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://host:port``: the endpoint URL clients take."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start serving; return once the server accepts connections.

        :raises RuntimeError: it did not start (the invoker failed to open, for instance)
        """
        self._thread = threading.Thread(target=self._run, name="faaslib-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        # uvicorn says it has started with a flag only: look at it until then.
        while not self._server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"the server did not start: {self._error!r}")

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # noqa: BLE001 - told by start()
            self._error = exc

    def stop(self) -> None:
        """Stop serving: in-flight requests finish, then the invoker closes."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._socket.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
