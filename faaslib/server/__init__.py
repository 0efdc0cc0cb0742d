"""faaslib over HTTP: Lambda's Invoke API, served by uvicorn from a registry, so boto3's
``lambda`` client and the AWS CLI work against it with only ``endpoint_url`` changed; and
the HTTP front, where the functions' ``HttpApi``, ``Api``, ``FunctionUrl`` and ``ALB``
routes answer as API Gateway, Function URLs and the load balancer do.

``Server(registry, credentials="credentials.json")`` (``faaslib serve --auth sigv4``) answers
Lambda's API only to requests signed with AWS Signature Version 4 by a key of the file.

Needs the server extra: ``pip install 'faaslib[server]'``.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401 - checked here so the error names the extra
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - the extra is installed in the test suite
    raise ImportError(
        f"faaslib.server needs the server extra ({exc.name} is missing): "
        "pip install 'faaslib[server]'"
    ) from exc

from ._app import create_app as create_app
from ._app import error_response as error_response
from ._auth import AuthenticationError as AuthenticationError
from ._auth import CredentialsError as CredentialsError
from ._auth import Identity as Identity
from ._auth import load_credentials as load_credentials
from ._http_front import HttpFront as HttpFront
from ._http_front import edge_front as edge_front
from ._http_front import http_front as http_front
from ._invoke_api import InvokeApi as InvokeApi
from ._serve import DEFAULT_HOST as DEFAULT_HOST
from ._serve import Server as Server
from ._serve import serve as serve

__all__ = [
    "DEFAULT_HOST",
    "AuthenticationError",
    "CredentialsError",
    "HttpFront",
    "Identity",
    "InvokeApi",
    "Server",
    "create_app",
    "edge_front",
    "error_response",
    "http_front",
    "load_credentials",
    "serve",
]
