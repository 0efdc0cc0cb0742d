from __future__ import annotations

from typing import Any

import pytest

import faaslib
from faaslib import (
    AccessDeniedException,
    ConfigurationError,
    FaaslibError,
    InvalidMessageContents,
    InvalidParameterValueException,
    InvalidRequestContentException,
    InvokerClosed,
    RequestTooLargeException,
    ResourceConflictException,
    ResourceNotFoundException,
    ServiceException,
    TemplateError,
    TooManyRequestsException,
    ValidationException,
)
from faaslib._arn import FunctionRef, function_arn, parse_function_arn, parse_function_ref
from faaslib.workflows import Problem

# --------------------------------------------------------------------------------------------
# The exception tree
# --------------------------------------------------------------------------------------------

#: class -> (builtin base or None, error_type, status_code, fault)
EXPECTED: dict[type[FaaslibError], tuple[type[Exception] | None, str, int, str]] = {
    ResourceNotFoundException: (LookupError, "ResourceNotFoundException", 404, "User"),
    AccessDeniedException: (PermissionError, "AccessDeniedException", 403, "User"),
    faaslib.InvalidEventPatternException: (ValueError, "InvalidEventPatternException", 400, "User"),
    faaslib.CustomResourceFailed: (None, "CustomResourceFailed", 400, "User"),
    faaslib.AlreadyExistsException: (None, "AlreadyExists", 400, "User"),
    faaslib.EdgeResponseError: (None, "LambdaValidationError", 502, "Service"),
    faaslib.EFSMountFailureException: (None, "EFSMountFailureException", 403, "User"),
    faaslib.LimitExceededException: (None, "LimitExceededException", 400, "User"),
    faaslib.ExecutionAlreadyExists: (None, "ExecutionAlreadyExists", 400, "User"),
    faaslib.ExecutionDoesNotExist: (LookupError, "ExecutionDoesNotExist", 400, "User"),
    faaslib.InvalidArn: (ValueError, "InvalidArn", 400, "User"),
    faaslib.InvalidDefinition: (ValueError, "InvalidDefinition", 400, "User"),
    faaslib.InvalidExecutionInput: (ValueError, "InvalidExecutionInput", 400, "User"),
    faaslib.InvalidName: (ValueError, "InvalidName", 400, "User"),
    faaslib.InvalidOutput: (ValueError, "InvalidOutput", 400, "User"),
    faaslib.InvalidToken: (ValueError, "InvalidToken", 400, "User"),
    faaslib.StateMachineAlreadyExists: (None, "StateMachineAlreadyExists", 400, "User"),
    faaslib.StateMachineDoesNotExist: (LookupError, "StateMachineDoesNotExist", 400, "User"),
    faaslib.StateMachineTypeNotSupported: (None, "StateMachineTypeNotSupported", 400, "User"),
    faaslib.TaskDoesNotExist: (LookupError, "TaskDoesNotExist", 400, "User"),
    faaslib.TaskTimedOut: (None, "TaskTimedOut", 400, "User"),
    faaslib.InvalidLambdaFunctionAssociation: (
        None,
        "InvalidLambdaFunctionAssociation",
        400,
        "User",
    ),
    faaslib.CodePipelineError: (None, "CodePipelineError", 400, "User"),
    faaslib.InvalidJobStateException: (None, "InvalidJobStateException", 400, "User"),
    faaslib.JobNotFoundException: (LookupError, "JobNotFoundException", 400, "User"),
    faaslib.CodeCommitError: (None, "CodeCommitError", 400, "User"),
    faaslib.BranchNameExistsException: (None, "BranchNameExistsException", 400, "User"),
    faaslib.CommitDoesNotExistException: (LookupError, "CommitDoesNotExistException", 400, "User"),
    faaslib.DefaultBranchCannotBeDeletedException: (
        None,
        "DefaultBranchCannotBeDeletedException",
        400,
        "User",
    ),
    faaslib.InvalidResultTokenException: (None, "InvalidResultTokenException", 400, "User"),
    faaslib.DependencyFailedException: (None, "DependencyFailedException", 424, "User"),
    faaslib.SkillResponseError: (None, "INVALID_RESPONSE", 400, "User"),
    faaslib.RuleDoesNotExistException: (LookupError, "RuleDoesNotExist", 400, "User"),
    **{
        getattr(faaslib, name): (None, name, 400, "User")
        for name in (
            "CognitoError",
            "CodeMismatchException",
            "InvalidLambdaResponseException",
            "InvalidParameterException",
            "InvalidPasswordException",
            "NotAuthorizedException",
            "PasswordResetRequiredException",
            "UnexpectedLambdaException",
            "UserLambdaValidationException",
            "UserNotConfirmedException",
            "UserNotFoundException",
            "UsernameExistsException",
        )
    },
    InvalidRequestContentException: (ValueError, "InvalidRequestContentException", 400, "User"),
    RequestTooLargeException: (None, "RequestEntityTooLargeException", 413, "User"),
    TooManyRequestsException: (None, "TooManyRequestsException", 429, "User"),
    ResourceConflictException: (None, "ResourceConflictException", 409, "User"),
    InvalidParameterValueException: (ValueError, "InvalidParameterValueException", 400, "User"),
    ValidationException: (ValueError, "ValidationException", 400, "User"),
    InvokerClosed: (RuntimeError, "ServiceException", 500, "Service"),
    InvalidMessageContents: (ValueError, "InvalidMessageContents", 400, "User"),
    ServiceException: (None, "ServiceException", 500, "Service"),
    ConfigurationError: (ImportError, "ServiceException", 500, "Service"),
    TemplateError: (ValueError, "ValidationError", 400, "User"),
}


def make(cls: type[FaaslibError]) -> FaaslibError:
    """An instance of each class, built with its own constructor."""
    if cls is ValidationException:
        return ValidationException("timeout", 901, "Member must be at most 900")
    if cls is RequestTooLargeException:
        return RequestTooLargeException("too large", function_name="f", size=10, limit=5)
    if cls is TooManyRequestsException:
        return TooManyRequestsException(
            "Rate Exceeded.", function_name="f", reason="ConcurrentInvocationLimitExceeded"
        )
    if cls is faaslib.CustomResourceFailed:
        return faaslib.CustomResourceFailed("Thing", "Create", "something happened")
    if cls is faaslib.SkillResponseError:
        return faaslib.SkillResponseError("something happened")
    if cls is faaslib.InvalidDefinition:
        problem = Problem("MISSING_TRANSITION_TARGET", "no next", "/States/A")
        return faaslib.InvalidDefinition([problem])
    return cls("something happened", function_name="f")


def exported_exceptions() -> list[type[BaseException]]:
    return [
        obj
        for name in faaslib.__all__
        if isinstance(obj := getattr(faaslib, name), type) and issubclass(obj, BaseException)
    ]


def test_every_exported_exception_is_covered() -> None:
    # TemplateWarning is a warning (a UserWarning), not an error of the tree.
    assert set(exported_exceptions()) == {FaaslibError, faaslib.TemplateWarning, *EXPECTED}
    assert issubclass(faaslib.TemplateWarning, UserWarning)
    assert not issubclass(faaslib.TemplateWarning, FaaslibError)


def test_every_faaslib_error_subclass_is_exported() -> None:
    def walk(cls: type[object]) -> set[type[object]]:
        found = set(cls.__subclasses__())
        for sub in cls.__subclasses__():
            found |= walk(sub)
        return found

    import faaslib.server  # its errors (the signature checks') are exported from there

    server = {getattr(faaslib.server, name) for name in faaslib.server.__all__}
    for cls in walk(FaaslibError):
        if cls.__module__.startswith("faaslib.server."):
            assert cls in server or cls.__base__ in server, cls
        elif cls.__module__.startswith("faaslib") and not cls.__name__.startswith("_"):
            # Exported, or a kind of an exported error family of its own service (a private one
            # is its parent's kind).
            exported = set(exported_exceptions())
            assert cls in exported or any(
                base in exported and base.__module__ == cls.__module__ for base in cls.__mro__
            ), cls


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda cls: cls.__name__)
def test_exception_class_hierarchy_and_codes(cls: type[FaaslibError]) -> None:
    builtin, error_type, status_code, fault = EXPECTED[cls]

    assert issubclass(cls, FaaslibError)
    assert issubclass(cls, Exception)
    if builtin is not None:
        assert issubclass(cls, builtin)
    assert cls.error_type == error_type
    assert cls.status_code == status_code
    assert cls.fault == fault
    # 4xx are the caller's fault, 5xx the service's.
    assert (cls.fault == "User") == (400 <= cls.status_code < 500)


@pytest.mark.parametrize(
    ("cls", "not_a"),
    [
        (RequestTooLargeException, ValueError),
        (TooManyRequestsException, ValueError),
        (ResourceConflictException, ValueError),
        (ResourceNotFoundException, ValueError),
        (InvokerClosed, ValueError),
        (ValidationException, LookupError),
    ],
)
def test_exception_is_not_an_unrelated_builtin(cls: type[FaaslibError], not_a: type) -> None:
    assert not issubclass(cls, not_a)


def test_root_error_codes() -> None:
    assert FaaslibError.error_type == "ServiceException"
    assert FaaslibError.status_code == 500
    assert FaaslibError.fault == "Service"
    error = FaaslibError("boom")
    assert error.function_name is None
    assert error.to_dict() == {"Type": "Service", "Message": "boom"}


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda cls: cls.__name__)
def test_instances_carry_message_and_are_catchable_as_root(cls: type[FaaslibError]) -> None:
    error = make(cls)

    assert error.message == str(error)
    assert error.to_dict()["Type"] == EXPECTED[cls][3]
    with pytest.raises(FaaslibError):
        raise error


@pytest.mark.parametrize(
    ("error", "body"),
    [
        pytest.param(
            ResourceNotFoundException("Function not found: x", function_name="x"),
            {"Type": "User", "Message": "Function not found: x"},
            id="ResourceNotFoundException",
        ),
        pytest.param(
            TooManyRequestsException("Rate Exceeded.", reason="ConcurrentInvocationLimitExceeded"),
            {
                "Reason": "ConcurrentInvocationLimitExceeded",
                "Type": "User",
                "message": "Rate Exceeded.",
            },
            id="TooManyRequestsException",
        ),
        pytest.param(
            AccessDeniedException("User: 111122223333 is not authorized"),
            {"Type": "User", "Message": "User: 111122223333 is not authorized"},
            id="AccessDeniedException",
        ),
        pytest.param(
            ResourceConflictException("Function already exist: x"),
            {"Type": "User", "message": "Function already exist: x"},
            id="ResourceConflictException",
        ),
        pytest.param(
            InvalidParameterValueException("bad qualifier"),
            {"Type": "User", "message": "bad qualifier"},
            id="InvalidParameterValueException",
        ),
        pytest.param(
            InvalidRequestContentException("Could not parse request body into json: x"),
            {"Type": "User", "message": "Could not parse request body into json: x"},
            id="InvalidRequestContentException",
        ),
        pytest.param(
            RequestTooLargeException("too big", size=7, limit=6),
            {"Type": "User", "message": "too big"},
            id="RequestTooLargeException",
        ),
        pytest.param(
            InvokerClosed("closed"),
            {"Type": "Service", "Message": "closed"},
            id="InvokerClosed",
        ),
    ],
)
def test_to_dict_wire_bodies(error: FaaslibError, body: dict[str, Any]) -> None:
    assert error.to_dict() == body


def test_service_exception_body_uses_capital_message() -> None:
    assert InvokerClosed("closed").to_dict() == {"Type": "Service", "Message": "closed"}


def test_validation_exception_fields() -> None:
    error = ValidationException("memorySize", 64, "Member must be at least 128")

    assert error.field == "memorySize"
    assert error.value == 64
    assert str(error) == (
        "1 validation error detected: Value '64' at 'memorySize' failed to satisfy "
        "constraint: Member must be at least 128"
    )
    assert error.to_dict() == {"Type": "User", "message": str(error)}


def test_invalid_request_content_errors_default_to_empty_list() -> None:
    assert InvalidRequestContentException("x").errors == []
    errors = [{"type": "missing", "loc": ("a",), "msg": "Field required"}]
    assert InvalidRequestContentException("x", errors=errors).errors == errors


def test_request_too_large_fields() -> None:
    error = RequestTooLargeException("too big", function_name="f", size=7, limit=6)

    assert error.size == 7
    assert error.limit == 6
    assert error.function_name == "f"
    assert error.error_type == "RequestEntityTooLargeException"
    assert RequestTooLargeException.wire_error_type == "RequestEntityTooLargeException"
    assert error.wire_error_type == "RequestEntityTooLargeException"


def test_too_many_requests_reason() -> None:
    error = TooManyRequestsException("Rate Exceeded.", reason="CallerRateLimitExceeded")

    assert error.reason == "CallerRateLimitExceeded"
    assert error.function_name is None


def test_function_name_keyword() -> None:
    error = ResourceNotFoundException("Function not found: f", function_name="f")
    assert error.function_name == "f"
    assert "function_name" not in error.to_dict()


# --------------------------------------------------------------------------------------------
# Function references and ARNs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param("my-function", ("my-function", None, None, None), id="name"),
        pytest.param("my_function.v2", ("my_function.v2", None, None, None), id="name-with-dot"),
        pytest.param("my-function:prod", ("my-function", "prod", None, None), id="name-alias"),
        pytest.param("my-function:7", ("my-function", "7", None, None), id="name-version"),
        pytest.param(
            "my-function:$LATEST", ("my-function", "$LATEST", None, None), id="name-latest"
        ),
        pytest.param(
            "my-function:$LATEST.PUBLISHED",
            ("my-function", "$LATEST.PUBLISHED", None, None),
            id="name-latest-published",
        ),
        pytest.param(
            "123456789012:function:my-function",
            ("my-function", None, None, "123456789012"),
            id="partial-arn",
        ),
        pytest.param(
            "123456789012:function:my-function:prod",
            ("my-function", "prod", None, "123456789012"),
            id="partial-arn-qualifier",
        ),
        pytest.param(
            "arn:aws:lambda:us-west-2:123456789012:function:my-function",
            ("my-function", None, "us-west-2", "123456789012"),
            id="full-arn",
        ),
        pytest.param(
            "arn:aws:lambda:us-west-2:123456789012:function:my-function:3",
            ("my-function", "3", "us-west-2", "123456789012"),
            id="full-arn-version",
        ),
        pytest.param(
            "arn:aws:lambda:eu-central-1:123456789012:function:my-function:live",
            ("my-function", "live", "eu-central-1", "123456789012"),
            id="full-arn-alias",
        ),
        pytest.param(
            "arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST",
            ("my-function", "$LATEST", "us-east-1", "123456789012"),
            id="full-arn-latest",
        ),
        pytest.param(
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:my-function",
            ("my-function", None, "us-gov-west-1", "123456789012"),
            id="govcloud-arn",
        ),
        pytest.param(
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:my-function",
            ("my-function", None, "cn-north-1", "123456789012"),
            id="china-arn",
        ),
    ],
)
def test_parse_function_ref(ref: str, expected: tuple[Any, ...]) -> None:
    parsed = parse_function_ref(ref)

    assert parsed is not None
    assert isinstance(parsed, FunctionRef)
    assert tuple(parsed) == expected
    name, qualifier, region, account = expected
    assert parsed.name == name
    assert parsed.qualifier == qualifier
    assert parsed.region == region
    assert parsed.account == account


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("", id="empty"),
        pytest.param("my function", id="space"),
        pytest.param("a/b", id="slash"),
        pytest.param("my-function:", id="empty-qualifier"),
        pytest.param(":prod", id="empty-name"),
        pytest.param("my-function:prod:extra", id="two-qualifiers"),
        pytest.param("my-function:$NOPE", id="bad-dollar-qualifier"),
        pytest.param("my-function:v.1", id="dot-in-qualifier"),
        pytest.param("arn:aws:lambda:us-west-2:123456789012:function:", id="arn-without-name"),
        pytest.param(
            "arn:aws:lambda:us-west-2:123456789012:function:my-function:1:2",
            id="arn-two-qualifiers",
        ),
        pytest.param("arn:aws:s3:::my-bucket", id="other-service-arn"),
        pytest.param("my-function\n", id="trailing-newline"),
        pytest.param("x" * 257, id="over-256-chars"),
    ],
)
def test_parse_function_ref_malformed_is_none(ref: str) -> None:
    assert parse_function_ref(ref) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:f", ("f", None)),
        ("arn:aws:lambda:eu-west-1:123456789012:function:f:live", ("f", "live")),
        ("arn:aws-cn:lambda:cn-north-1:123456789012:function:f:$LATEST", ("f", "$LATEST")),
        ("f", None),  # a name is no ARN
        ("f:live", None),
        ("123456789012:function:f", None),  # nor is a partial ARN
        ("arn:aws:lambda:us-east-1:123456789012:f", None),  # without function:
        ("arn:aws:states:us-east-1:123456789012:stateMachine:m", None),
    ],
)
def test_parse_function_arn_takes_full_arns_only(
    text: str, expected: tuple[str, str | None] | None
) -> None:
    parsed = parse_function_arn(text)
    assert (parsed and (parsed.name, parsed.qualifier)) == expected


def test_parse_function_ref_length_limit_is_256() -> None:
    ref = "arn:aws:lambda:us-west-2:123456789012:function:" + "f" * 209
    assert len(ref) == 256
    parsed = parse_function_ref(ref)
    assert parsed is not None
    assert parsed.name == "f" * 209
    assert parse_function_ref(ref + "f") is None


def test_parse_function_ref_iso_region_arn() -> None:
    parsed = parse_function_ref("arn:aws-iso:lambda:us-iso-east-1:123456789012:function:my-fn")
    assert parsed == FunctionRef("my-fn", None, "us-iso-east-1", "123456789012")


def test_function_arn() -> None:
    assert (
        function_arn("us-east-1", "123456789012", "my-function")
        == "arn:aws:lambda:us-east-1:123456789012:function:my-function"
    )


@pytest.mark.parametrize("qualifier", ["$LATEST", "7", "prod"])
def test_function_arn_with_qualifier(qualifier: str) -> None:
    arn = function_arn("eu-west-1", "111122223333", "orders", qualifier)

    assert arn == f"arn:aws:lambda:eu-west-1:111122223333:function:orders:{qualifier}"
    assert parse_function_ref(arn) == FunctionRef("orders", qualifier, "eu-west-1", "111122223333")


@pytest.mark.parametrize("qualifier", [None, ""])
def test_function_arn_without_qualifier(qualifier: str | None) -> None:
    assert function_arn("eu-west-1", "111122223333", "orders", qualifier) == (
        "arn:aws:lambda:eu-west-1:111122223333:function:orders"
    )
