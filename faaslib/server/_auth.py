"""``faaslib serve --auth sigv4``: every request to Lambda's API (and to a Function URL whose
AuthType is ``AWS_IAM``) must carry a valid AWS Signature Version 4 by a key of the
credentials file, refused as Lambda refuses it otherwise.

The signature is recomputed by botocore's own signer (``botocore.auth.SigV4Auth``) over the
request as it arrived (method, path, query, the headers it signed, its body) and compared in
constant time. botocore is imported only when a server authenticates.

The credentials file is JSON, one entry per access key id::

    {
      "AKIAIOSFODNN7EXAMPLE": {
        "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "principal": "arn:aws:iam::123456789012:user/alice"
      }
    }

``principal`` is who the key signs as (an IAM or STS ARN, or an account id); an entry may
also hold a ``session_token``, which the requests must then carry (temporary credentials).
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import hashlib
import hmac
import json
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from starlette.types import Scope

from .._errors import FaaslibError

__all__ = [
    "AuthenticationError",
    "Credentials",
    "CredentialsError",
    "FunctionUrlForbidden",
    "Identity",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "SigV4Verifier",
    "SignedRequest",
    "UnrecognizedClientException",
    "credentials_of",
    "load_credentials",
    "require_botocore",
]

#: How far a request's signing time may be from the server's clock, either way (AWS's window).
WINDOW = datetime.timedelta(minutes=5)
#: The signing algorithm, the scope's terminator, and botocore's timestamp format.
ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
_TIMESTAMP = "%Y%m%dT%H%M%SZ"

# -- The errors, as Lambda's front end answers them (403, a body of ``message`` alone) -------


class AuthenticationError(FaaslibError):
    """A request to an authenticated route that did not prove who sent it. Nothing ran."""

    status_code = 403
    fault = "User"
    message_member = "message"

    def to_dict(self) -> dict[str, Any]:
        return {self.message_member: self.message}


class MissingAuthenticationTokenException(AuthenticationError):
    """No ``Authorization`` header."""

    error_type = "MissingAuthenticationTokenException"

    def __init__(self) -> None:
        super().__init__("Missing Authentication Token")


class IncompleteSignatureException(AuthenticationError):
    """An ``Authorization`` header that is not a complete SigV4 one."""

    error_type = "IncompleteSignatureException"


class UnrecognizedClientException(AuthenticationError):
    """An access key (or session token) the credentials file does not hold."""

    error_type = "UnrecognizedClientException"

    def __init__(self) -> None:
        super().__init__("The security token included in the request is invalid.")


class InvalidSignatureException(AuthenticationError):
    """A signature that does not match, or is out of its time window or credential scope."""

    error_type = "InvalidSignatureException"

    MISMATCH = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. "
        "Consult the service documentation for details."
    )


class FunctionUrlForbidden(AuthenticationError):
    """An unsigned request to a Function URL whose AuthType is ``AWS_IAM``."""

    error_type = "AccessDeniedException"
    message_member = "Message"

    def __init__(self) -> None:
        super().__init__(
            "Forbidden. For troubleshooting Function URL authorization issues, see: "
            "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
        )


# -- The credentials file ----------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """An access key of the credentials file: its secret, and the principal it signs as."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    principal: str
    session_token: str | None = field(default=None, repr=False)


#: The keys a server accepts, by access key id.
Credentials = Mapping[str, Identity]
#: What a server takes as its credentials: the file's path, or the keys themselves.
CredentialsSource = Union[str, "os.PathLike[str]", Credentials]


class CredentialsError(ValueError):
    """The credentials file cannot be read, or is not a valid one; the message names it."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"the credentials file {os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


_ACCESS_KEY = re.compile(r"\w{1,128}", re.ASCII)
_PRINCIPAL = re.compile(r"\d{12}|arn:aws[\w-]*:(iam|sts)::\d{12}:\S+", re.ASCII)
_FIELDS = {"secret_access_key", "principal", "session_token"}
_SHAPE = (
    'a JSON object of access key ids, each {"secret_access_key": "...", '
    '"principal": "arn:aws:iam::123456789012:user/alice"}'
)


def load_credentials(path: str | os.PathLike[str]) -> dict[str, Identity]:
    """The keys of a credentials file (see the module's documentation for its format).

    :raises CredentialsError: the file cannot be read, is not JSON, or an entry is invalid
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialsError(path, f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CredentialsError(path, "is not UTF-8 text") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CredentialsError(
            path, f"is not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        ) from None
    if not isinstance(document, dict) or not document:
        raise CredentialsError(path, f"must be {_SHAPE}")
    return {key: _identity(path, key, entry) for key, entry in document.items()}


def _identity(path: str | os.PathLike[str], key: str, entry: object) -> Identity:
    def bad(problem: str) -> CredentialsError:
        return CredentialsError(path, f"access key {key!r}: {problem}")

    if not _ACCESS_KEY.fullmatch(key):
        raise bad("an access key id is 1 to 128 letters, digits or underscores")
    if not isinstance(entry, dict):
        raise bad(f"must be an object, as in {_SHAPE}")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise bad(f"unknown field {unknown[0]!r} (the fields are {', '.join(sorted(_FIELDS))})")
    for name in ("secret_access_key", "principal"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise bad(f"{name!r} must be a non-empty string")
    principal = entry["principal"]
    if not _PRINCIPAL.fullmatch(principal):
        raise bad(
            "'principal' must be an IAM or STS ARN (arn:aws:iam::123456789012:user/alice) "
            f"or a 12-digit account id, not {principal!r}"
        )
    token = entry.get("session_token")
    if token is not None and (not isinstance(token, str) or not token):
        raise bad("'session_token' must be a non-empty string")
    return Identity(key, entry["secret_access_key"], principal, token)


def credentials_of(source: CredentialsSource) -> Credentials:
    """The keys a server was given: read from the file a path names, or as given."""
    if isinstance(source, Mapping):
        return source
    return load_credentials(source)


# -- Verifying a request -----------------------------------------------------------------------


def require_botocore() -> None:
    """Import botocore's signer now, so a missing botocore stops a server before it starts.

    :raises ImportError: botocore is not installed (the message names the extra)
    """
    _signer_class()


@functools.cache
def _signer_class() -> Any:
    """botocore's SigV4 signer, taught to sign the headers the client signed: those of the
    rebuilt request, exactly (botocore itself leaves out some, ``user-agent`` among them)."""
    try:
        from botocore.auth import SigV4Auth
    except ImportError as exc:
        raise ImportError(
            f"--auth sigv4 needs botocore ({exc.name} is missing): pip install 'faaslib[server]'"
        ) from exc

    class _Recompute(SigV4Auth):  # type: ignore[misc]  # botocore ships no types
        def headers_to_sign(self, request: Any) -> Any:
            return request.headers

    return _Recompute


class SigV4Verifier:
    """Checks requests' SigV4 signatures against a set of keys, for one region and service.

    :param credentials: the keys it accepts, by access key id
    :param region: the region requests must be signed for (the server's)
    :param service: the service they must be signed for
    :raises ImportError: botocore is not installed
    """

    def __init__(self, credentials: Credentials, *, region: str, service: str = "lambda") -> None:
        self.credentials = credentials
        self.region = region
        self.service = service
        self._signer = _signer_class()
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as BotocoreCredentials

        self._request = AWSRequest
        self._botocore_credentials = BotocoreCredentials

    def check(self, scope: Scope) -> SignedRequest:
        """Check what the request's headers alone tell (before its body is read): a complete
        ``Authorization`` header, a signing time within five minutes of now, the credential
        scope, a known key.

        :raises AuthenticationError: the answer to give instead
        """
        headers: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        authorization = headers.get("authorization", [""])[0]
        if not authorization.strip():
            raise MissingAuthenticationTokenException()
        timestamp = _timestamp(headers)
        parameters = _parameters(authorization, timestamp)
        credential = parameters["Credential"].split("/")
        if len(credential) != 5:
            raise IncompleteSignatureException(
                "Credential must have exactly 5 slash-delimited elements, e.g. "
                f"keyid/date/region/service/term, got '{parameters['Credential']}'"
            )
        key, date, region, service, terminator = credential
        self._check_time(timestamp)
        if date != timestamp[:8]:
            raise InvalidSignatureException(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                f"date from HTTP: '{date}' != '{timestamp[:8]}', from '{timestamp}'."
            )
        if region != self.region:
            raise InvalidSignatureException(
                f"Credential should be scoped to a valid region, not '{region}'. "
            )
        if service != self.service:
            raise InvalidSignatureException(
                f"Credential should be scoped to correct service: '{self.service}'. "
            )
        if terminator != TERMINATOR:
            raise InvalidSignatureException(
                f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
                f"not '{terminator}'. "
            )
        identity = self.credentials.get(key)
        token = headers.get("x-amz-security-token", [None])[0]
        if identity is None or not _same(token, identity.session_token):
            raise UnrecognizedClientException()
        signed = parameters["SignedHeaders"].split(";")
        return SignedRequest(
            self, scope, identity, timestamp, signed, headers, parameters["Signature"]
        )

    def _check_time(self, timestamp: str) -> None:
        try:
            signed_at = datetime.datetime.strptime(timestamp, _TIMESTAMP).replace(
                tzinfo=datetime.timezone.utc
            )
        except ValueError:
            raise IncompleteSignatureException(
                f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601"
            ) from None
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        if signed_at < now - WINDOW:
            raise InvalidSignatureException(
                f"Signature expired: {timestamp} is now earlier than "
                f"{(now - WINDOW).strftime(_TIMESTAMP)} ({now.strftime(_TIMESTAMP)} - 5 min.)"
            )
        if signed_at > now + WINDOW:
            raise InvalidSignatureException(
                f"Signature not yet current: {timestamp} is still later than "
                f"{(now + WINDOW).strftime(_TIMESTAMP)} ({now.strftime(_TIMESTAMP)} + 5 min.)"
            )


@dataclass
class SignedRequest:
    """A request whose headers passed :meth:`SigV4Verifier.check`; :meth:`verify` checks its
    signature once its body is read."""

    verifier: SigV4Verifier
    scope: Scope
    identity: Identity
    timestamp: str
    signed_headers: list[str]
    headers: dict[str, list[str]]
    signature: str

    def verify(self, body: bytes) -> Identity:
        """Recompute the signature over the request and ``body`` with botocore's signer.

        :return: the key that signed it
        :raises InvalidSignatureException: the signature does not match
        """
        verifier = self.verifier
        request = verifier._request(
            method=self.scope["method"],
            url="http://faaslib" + _raw_path(self.scope),
            data=body,
            params=_query(self.scope.get("query_string", b"")),
        )
        for name in self.signed_headers:
            name = name.strip().lower()
            for value in self.headers.get(name, []):
                request.headers[name] = value  # a repeated header keeps each value
        claimed = self.headers.get("x-amz-content-sha256", [None])[0]
        if claimed is not None and claimed != hashlib.sha256(body).hexdigest():
            raise InvalidSignatureException(InvalidSignatureException.MISMATCH)
        request.context["timestamp"] = self.timestamp
        identity = self.identity
        signer = verifier._signer(
            verifier._botocore_credentials(identity.access_key_id, identity.secret_access_key),
            verifier.service,
            verifier.region,
        )
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if not hmac.compare_digest(str(expected).encode(), self.signature.encode()):
            raise InvalidSignatureException(InvalidSignatureException.MISMATCH)
        return identity


def _same(given: str | None, expected: str | None) -> bool:
    if given is None or expected is None:
        return given is expected
    return hmac.compare_digest(given.encode(), expected.encode())


def _timestamp(headers: dict[str, list[str]]) -> str:
    """The signing time, as SigV4 writes it: ``X-Amz-Date``, else the ``Date`` header's
    (empty: neither)."""
    if "x-amz-date" in headers:
        return headers["x-amz-date"][0].strip()
    if "date" in headers:
        try:
            when = email.utils.parsedate_to_datetime(headers["date"][0])
        except (TypeError, ValueError):
            return headers["date"][0]  # not a date: refused as one
        return when.astimezone(datetime.timezone.utc).strftime(_TIMESTAMP)
    return ""


def _parameters(authorization: str, timestamp: str) -> dict[str, str]:
    """The ``Credential``, ``SignedHeaders`` and ``Signature`` of an ``Authorization`` header.

    :raises IncompleteSignatureException: one is missing (all are, in a header that is not
        SigV4's, a bearer token say) or malformed, or the request has no signing time
    """
    algorithm, _, rest = authorization.strip().partition(" ")
    parameters: dict[str, str] = {}
    for pair in rest.split(",") if algorithm == ALGORITHM else ():
        pair = pair.strip()
        if not pair:
            continue
        name, equals, value = pair.partition("=")
        if not equals:
            raise IncompleteSignatureException(
                f"'{pair}' not a valid key=value pair (missing equal-sign) in Authorization "
                f"header: '{authorization}'."
            )
        parameters[name.strip()] = value.strip()
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not parameters.get(name)
    ]
    if not timestamp:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise IncompleteSignatureException(" ".join([*problems, f"Authorization={authorization}"]))
    return parameters


def _raw_path(scope: Scope) -> str:
    """The path as the client sent (and signed) it: percent-encoded, without the query."""
    raw = scope.get("raw_path")
    if raw:
        return str(raw.decode("latin-1").split("?", 1)[0])
    return urllib.parse.quote(scope["path"])


def _query(query_string: bytes) -> list[tuple[str, str]]:
    """The query's parameters, decoded: botocore encodes them again as SigV4 does, so the
    client's encoding (``%7E`` or ``~``) does not matter."""
    pairs = []
    for pair in query_string.decode("latin-1").split("&"):
        if pair:
            name, _, value = pair.partition("=")
            pairs.append((urllib.parse.unquote(name), urllib.parse.unquote(value)))
    return pairs
