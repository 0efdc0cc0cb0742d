"""The errors of Cognito user pools, named and worded as Cognito's API (``cognito-idp``)
answers them."""

from __future__ import annotations

from .._errors import FaaslibError

__all__ = [
    "CodeMismatchException",
    "CognitoError",
    "InvalidLambdaResponseException",
    "InvalidPasswordException",
    "NotAuthorizedException",
    "PasswordResetRequiredException",
    "UnexpectedLambdaException",
    "UserLambdaValidationException",
    "UserNotConfirmedException",
    "UserNotFoundException",
    "UsernameExistsException",
]


class CognitoError(FaaslibError):
    """Root of the errors a :class:`UserPool` raises, each named and worded as Cognito's API
    (``cognito-idp``) answers: a client error (HTTP 400) of the call, which changed nothing
    unless its class says otherwise. (An invalid parameter is faaslib's shared
    :class:`~faaslib.InvalidParameterException`.)"""

    error_type = "CognitoError"
    message_member = "message"
    status_code = 400
    fault = "User"


class UserLambdaValidationException(CognitoError):
    """A trigger's function failed (raised, or timed out on its own deadline): ``<trigger>
    failed with error <its errorMessage>.``. Pre triggers refuse the call; after Post
    confirmation the user stays confirmed, after Post authentication no tokens are issued."""

    error_type = "UserLambdaValidationException"


class UnexpectedLambdaException(CognitoError):
    """A trigger's function could not be invoked (refused, throttled, not found) or did not
    answer in 5 seconds three times: ``<trigger> invocation failed due to error <cause>.``"""

    error_type = "UnexpectedLambdaException"


class InvalidLambdaResponseException(CognitoError):
    """A trigger's function answered with something other than the event object, or with a
    response field of the wrong type."""

    error_type = "InvalidLambdaResponseException"


class InvalidPasswordException(CognitoError, ValueError):
    """The password breaks the pool's password policy."""

    error_type = "InvalidPasswordException"


class NotAuthorizedException(CognitoError):
    """Wrong username or password, a disabled user, or a confirmation of a user not in a state
    to be confirmed."""

    error_type = "NotAuthorizedException"


class UserNotConfirmedException(CognitoError):
    """The user signed up but has not confirmed (``UNCONFIRMED``): confirm, then sign in."""

    error_type = "UserNotConfirmedException"


class UserNotFoundException(CognitoError, LookupError):
    """No user of that name (and no User migration trigger brought one)."""

    error_type = "UserNotFoundException"


class UsernameExistsException(CognitoError):
    """A user of that name exists already."""

    error_type = "UsernameExistsException"


class CodeMismatchException(CognitoError):
    """The confirmation or reset code is not the one the pool sent."""

    error_type = "CodeMismatchException"


class PasswordResetRequiredException(CognitoError):
    """The user is ``RESET_REQUIRED``: ``forgot_password``, then ``confirm_forgot_password``."""

    error_type = "PasswordResetRequiredException"
