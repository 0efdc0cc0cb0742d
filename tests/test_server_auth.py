"""``faaslib serve --auth sigv4``: a real server on a loopback port that answers Lambda's API
(and AWS_IAM Function URLs) only to requests signed with AWS Signature Version 4 by a key of
its credentials file, refusing the others as Lambda does; driven by boto3 and by httpx
requests signed with botocore's own signer."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions
import httpx
import pytest
from test_cli_serve import APP, lambda_client, serving

import faaslib
from faaslib._cli import main
from faaslib.server import CredentialsError, Server, load_credentials

ALICE = ("AKIDALICEEXAMPLE", "alice-secret")  # a user of the server's account
BOB = ("AKIDBOBEXAMPLE", "bob/secret+key")  # a user of another account
TEMPORARY = ("ASIATEMPORARYEXAMPLE", "temporary-secret", "the-session-token")
CREDENTIALS = {
    ALICE[0]: {
        "secret_access_key": ALICE[1],
        "principal": "arn:aws:iam::123456789012:user/alice",
    },
    BOB[0]: {"secret_access_key": BOB[1], "principal": "210987654321"},
    TEMPORARY[0]: {
        "secret_access_key": TEMPORARY[1],
        "principal": "arn:aws:sts::123456789012:assumed-role/ci/session",
        "session_token": TEMPORARY[2],
    },
}
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)

registry = faaslib.Registry()


@registry.function
def echo(event: Any) -> Any:
    return event


@registry.function(events=[faaslib.FunctionUrl(auth_type="AWS_IAM")])
def private(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": f"private {event['rawPath']}"}


@registry.function(events=[faaslib.FunctionUrl()])
def public(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": "public"}


@registry.function(events=[faaslib.HttpApi(path="/hello", method="GET")])
def hello(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": "hello"}


@pytest.fixture(scope="module")
def credentials_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "credentials.json"
    path.write_text(json.dumps(CREDENTIALS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(credentials_file: Path) -> Iterator[Server]:
    with Server(registry, credentials=credentials_file) as running:
        yield running


def client(server: Server, key: str, secret: str, **options: Any) -> Any:
    """boto3's lambda client signing with ``key`` and ``secret`` (close it when done)."""
    options.setdefault("region_name", "us-east-1")
    return boto3.client(
        "lambda",
        endpoint_url=server.url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
        **options,
    )


def signed(
    method: str,
    url: str,
    body: bytes = b"",
    *,
    key: tuple[str, str] = ALICE,
    at: datetime.datetime | None = None,
    region: str = "us-east-1",
    service: str = "lambda",
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """The headers of a request signed by botocore's SigV4 signer at ``at`` (now by default),
    as any SDK signs it."""
    request = botocore.awsrequest.AWSRequest(method, url, headers=headers or {}, data=body)
    signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(*key), service, region)
    if at is None:
        signer.add_auth(request)
        return dict(request.headers.items())
    stamp = at.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = stamp
    request.context["timestamp"] = stamp
    signature = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, "
        f"Signature={signature}"
    )
    return dict(request.headers.items())


def refused(response: httpx.Response, error_type: str, message: str | re.Pattern[str]) -> None:
    """A 403 in the shape of Lambda's own errors: ``x-amzn-ErrorType`` and a JSON message."""
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == error_type
    assert response.headers["content-type"] == "application/json"
    assert len(response.headers["x-amzn-RequestId"]) == 36
    body = response.json()
    text = body.get("message", body.get("Message"))
    if isinstance(message, str):
        assert text == message
    else:
        assert message.fullmatch(text), text


def raised(caught: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    """The code and message boto3 read from a refusal (always a 403)."""
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return response["Error"]["Code"], response["Error"]["Message"]


# -- Lambda's API ------------------------------------------------------------------------------


def test_signed_requests_are_served(server: Server) -> None:
    for key, secret in (ALICE, BOB):
        with contextlib.closing(client(server, key, secret)) as lambda_:
            answer = lambda_.invoke(FunctionName="echo", Payload=b'{"n": 1}', Qualifier="$LATEST")
            assert json.loads(answer["Payload"].read()) == {"n": 1}
            arn = "arn:aws:lambda:us-east-1:123456789012:function:echo"  # encoded in the path
            assert lambda_.invoke(FunctionName=arn, InvocationType="DryRun")["StatusCode"] == 204
            functions = lambda_.list_functions()["Functions"]
            assert {f["FunctionName"] for f in functions} == {"echo", "private", "public", "hello"}
            assert (
                lambda_.get_function(FunctionName="echo")["Configuration"]["Version"] == "$LATEST"
            )


def test_temporary_credentials_need_their_session_token(server: Server) -> None:
    key, secret, token = TEMPORARY
    with contextlib.closing(client(server, key, secret, aws_session_token=token)) as lambda_:
        assert lambda_.invoke(FunctionName="echo", Payload=b"1")["StatusCode"] == 200
    for wrong in ({}, {"aws_session_token": "another-token"}):
        with contextlib.closing(client(server, key, secret, **wrong)) as lambda_:
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                lambda_.invoke(FunctionName="echo", Payload=b"1")
            assert raised(caught) == (
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )


def test_a_wrong_secret_is_an_invalid_signature(server: Server) -> None:
    with contextlib.closing(client(server, ALICE[0], "not-alices-secret")) as lambda_:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            lambda_.invoke(FunctionName="echo", Payload=b"{}")
        assert raised(caught) == ("InvalidSignatureException", MISMATCH)
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            lambda_.list_functions()
        assert raised(caught) == ("InvalidSignatureException", MISMATCH)


def test_an_unknown_access_key_is_unrecognized(server: Server) -> None:
    lambda_ = client(server, "AKIDNOBODY", "whatever")
    with contextlib.closing(lambda_), pytest.raises(botocore.exceptions.ClientError) as caught:
        lambda_.invoke(FunctionName="echo", Payload=b"{}")
    assert raised(caught) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )


def test_the_wrong_region_or_service(server: Server) -> None:
    lambda_ = client(server, *ALICE, region_name="eu-west-1")
    with contextlib.closing(lambda_), pytest.raises(botocore.exceptions.ClientError) as caught:
        lambda_.invoke(FunctionName="echo", Payload=b"{}")
    assert raised(caught) == (
        "InvalidSignatureException",
        "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    )
    url = f"{server.url}/2015-03-31/functions/echo/invocations"
    response = httpx.post(url, content=b"{}", headers=signed("POST", url, b"{}", service="s3"))
    refused(
        response,
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'lambda'. ",
    )


@pytest.mark.parametrize(("minutes", "wording"), [(-10, "expired"), (10, "not yet current")])
def test_a_signature_out_of_its_five_minutes(server: Server, minutes: int, wording: str) -> None:
    url = f"{server.url}/2015-03-31/functions/echo/invocations"
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    headers = signed("POST", url, b"{}", at=at)
    stamp = headers["X-Amz-Date"]
    response = httpx.post(url, content=b"{}", headers=headers)
    when = r"\d{8}T\d{6}Z"
    if minutes < 0:  # AWS's wording: the signing time, now - 5 minutes, now
        expected = rf"Signature expired: {stamp} is now earlier than {when} \({when} - 5 min\.\)"
    else:
        expected = (
            rf"Signature not yet current: {stamp} is still later than {when} \({when} \+ 5 min\.\)"
        )
    refused(response, "InvalidSignatureException", re.compile(expected))
    assert wording in response.json()["message"]
    # Within the window, the same signing is accepted.
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes / 5)
    response = httpx.post(url, content=b"{}", headers=signed("POST", url, b"{}", at=at))
    assert response.status_code == 200, response.text


def test_what_the_signature_covers_cannot_change(server: Server) -> None:
    url = f"{server.url}/2015-03-31/functions/echo/invocations"
    headers = signed("POST", url, b'{"amount": 1}', headers={"X-Amz-Invocation-Type": "Event"})
    assert httpx.post(url, content=b'{"amount": 1}', headers=headers).status_code == 202
    tampered = [
        (url, b'{"amount": 1000}', headers),  # the body
        (url + "?Qualifier=1", b'{"amount": 1}', headers),  # the query
        (url.replace("echo", "public"), b'{"amount": 1}', headers),  # the path
        (url, b'{"amount": 1}', {**headers, "X-Amz-Invocation-Type": "RequestResponse"}),
    ]
    for target, body, sent in tampered:
        refused(
            httpx.post(target, content=body, headers=sent), "InvalidSignatureException", MISMATCH
        )
    # A body that does not hash to the X-Amz-Content-SHA256 it signed.
    claimed = signed("POST", url, b"{}", headers={"X-Amz-Content-SHA256": "0" * 64})
    refused(httpx.post(url, content=b"{}", headers=claimed), "InvalidSignatureException", MISMATCH)


@pytest.mark.anyio
async def test_unsigned_requests_are_missing_their_token(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        for response in (
            await http.post("/2015-03-31/functions/echo/invocations", content=b"{}"),
            await http.get("/2015-03-31/functions/"),
            await http.get("/2015-03-31/functions/echo"),
            await http.delete("/2015-03-31/functions/echo/aliases/live"),  # no such operation
        ):
            refused(response, "MissingAuthenticationTokenException", "Missing Authentication Token")


@pytest.mark.anyio
async def test_an_authorization_that_is_not_sigv4(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/2015-03-31/functions/", headers={"Authorization": "Bearer t"})
        refused(
            response,
            "IncompleteSignatureException",
            "Authorization header requires 'Credential' parameter. Authorization header "
            "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
            "parameter. Authorization header requires existence of either a 'X-Amz-Date' or a "
            "'Date' header. Authorization=Bearer t",
        )
        url = f"{server.url}/2015-03-31/functions/"
        headers = signed("GET", url)
        headers["Authorization"] = headers["Authorization"].replace(ALICE[0], f"{ALICE[0]}/extra")
        refused(
            await http.get(url, headers=headers),
            "IncompleteSignatureException",
            re.compile(r"Credential must have exactly 5 slash-delimited elements, .*"),
        )


def test_an_oversized_body_is_refused_before_it_is_verified(server: Server) -> None:
    url = f"{server.url}/2015-03-31/functions/echo/invocations"
    body = b'"' + b"x" * 6_291_456 + b'"'
    response = httpx.post(url, content=body, headers=signed("POST", url, body))
    assert response.status_code == 413
    assert response.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"


def test_the_principal_reaches_the_invoker(credentials_file: Path) -> None:
    """With the invoker checking resource-based policies, the signer is who invokes: the
    server's own account may, another account only once the function's policy lets it."""
    guarded = faaslib.Registry()

    @guarded.function
    def ran(event: Any) -> str:
        return "ran"

    with Server(guarded, credentials=credentials_file, check_permissions=True) as running:
        with contextlib.closing(client(running, *ALICE)) as lambda_:
            assert lambda_.invoke(FunctionName="ran")["Payload"].read() == b'"ran"'
        with contextlib.closing(client(running, *BOB)) as lambda_:
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                lambda_.invoke(FunctionName="ran")
            assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
            guarded.add_permission("ran", "let-bob", "210987654321")
            assert lambda_.invoke(FunctionName="ran")["Payload"].read() == b'"ran"'


# -- The HTTP front ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_aws_iam_function_url_needs_a_signature(server: Server) -> None:
    url = f"{server.url}/lambda-url/private/orders?id=7"
    async with httpx.AsyncClient() as http:
        response = await http.get(url, headers=signed("GET", url))
        assert (response.status_code, response.text) == (200, "private /orders")
        refused(
            await http.get(url),
            "AccessDeniedException",
            "Forbidden. For troubleshooting Function URL authorization issues, see: "
            "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
        )
        wrong = signed("GET", url, key=(ALICE[0], "wrong"))
        refused(await http.get(url, headers=wrong), "InvalidSignatureException", MISMATCH)
        unknown = signed("GET", url, key=("AKIDNOBODY", "x"))
        refused(
            await http.get(url, headers=unknown),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
        posted = signed("POST", url, b"a body", headers={"Content-Type": "text/plain"})
        response = await http.post(url, content=b"a body", headers=posted)
        assert response.status_code == 200
        response = await http.post(url, content=b"another body", headers=posted)
        refused(response, "InvalidSignatureException", MISMATCH)


@pytest.mark.anyio
async def test_open_routes_stay_open(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/lambda-url/public/")).text == "public"
        assert (await http.get("/hello")).text == "hello"
        # A signature with a wrong key is no matter on an open route: nothing reads it.
        headers = signed("GET", f"{server.url}/hello", key=("AKIDNOBODY", "x"))
        assert (await http.get("/hello", headers=headers)).text == "hello"


def test_without_credentials_nothing_is_checked() -> None:
    with Server(registry) as running:
        url = f"{running.url}/2015-03-31/functions/echo/invocations"
        assert httpx.post(url, content=b"3").json() == 3
        assert httpx.get(f"{running.url}/lambda-url/private/").text == "private /"


# -- The credentials file and the command ------------------------------------------------------


def test_load_credentials(credentials_file: Path) -> None:
    keys = load_credentials(credentials_file)
    assert keys[BOB[0]].principal == "210987654321"
    assert keys[TEMPORARY[0]].session_token == TEMPORARY[2]
    assert ALICE[1] not in repr(keys[ALICE[0]])  # secrets stay out of logs


BAD_FILES = [
    (None, "cannot be read"),
    ("{not json", "is not JSON (Expecting property name enclosed in double quotes, line 1"),
    ("[]", "must be a JSON object of access key ids"),
    ("{}", "must be a JSON object of access key ids"),
    ('{"AKID": "secret"}', "access key 'AKID': must be an object"),
    ('{"AK/ID": {}}', "access key 'AK/ID': an access key id is 1 to 128 letters"),
    ('{"AKID": {"principal": "123456789012"}}', "'secret_access_key' must be a non-empty"),
    (
        '{"AKID": {"secret_access_key": "s", "principal": "alice"}}',
        (
            "'principal' must be an IAM or STS ARN (arn:aws:iam::123456789012:user/alice) or a "
            "12-digit account id, not 'alice'"
        ),
    ),
    (
        '{"AKID": {"secret_access_key": "s", "principal": "123456789012", "secret": "s"}}',
        "unknown field 'secret'",
    ),
]


@pytest.mark.parametrize(("text", "problem"), BAD_FILES)
def test_a_bad_credentials_file_stops_the_server_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, problem: str
) -> None:
    path = tmp_path / "credentials.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    serve = ["serve", "test_server_auth:registry", "--port", "1"]  # never listened on
    assert main([*serve, "--auth", "sigv4", "--credentials", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"faaslib serve: the credentials file {path}: ")
    assert problem in error
    with pytest.raises(CredentialsError, match=re.escape(problem)):
        Server(registry, credentials=path)


def test_auth_and_credentials_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    for flags in (["--auth", "sigv4"], ["--credentials", "credentials.json"]):
        assert main(["serve", "test_server_auth:registry", *flags]) == 2
        assert "--auth sigv4 and --credentials FILE go together" in capsys.readouterr().err


def test_faaslib_serve_auth_sigv4(tmp_path: Path) -> None:
    (tmp_path / "greeter.py").write_text(APP, encoding="utf-8")
    (tmp_path / "credentials.json").write_text(json.dumps(CREDENTIALS), encoding="utf-8")
    with serving(
        "greeter:registry", tmp_path, "--auth", "sigv4", "--credentials", "credentials.json"
    ) as url:
        signed_client = boto3.client(
            "lambda",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=ALICE[0],
            aws_secret_access_key=ALICE[1],
        )
        with contextlib.closing(signed_client) as lambda_:
            answer = lambda_.invoke(FunctionName="greet", Payload=b'{"name": "alice"}')
            assert json.loads(answer["Payload"].read()) == {"greeting": "hello alice"}
        with contextlib.closing(lambda_client(url)) as lambda_:  # key "testing": not in the file
            with pytest.raises(botocore.exceptions.ClientError) as caught:
                lambda_.list_functions()
            assert raised(caught)[0] == "UnrecognizedClientException"
