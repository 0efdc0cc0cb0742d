"""The tokens a Cognito user pool issues: JWT-shaped (signed by nothing), their claims, and
Pre token generation's overrides of them."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from typing import Any

from .cognito_errors import InvalidLambdaResponseException

__all__ = ["TOKEN_LIFETIME", "token_claims"]

TOKEN_LIFETIME = 3600
#: Claims Pre token generation cannot change.
_FIXED_CLAIMS_NAMES = (
    "acr amr aud at_hash auth_time azp cognito:username exp iat identities iss jti nbf nonce "
    "origin_jti sub token_use"
)
_FIXED_CLAIMS = frozenset(_FIXED_CLAIMS_NAMES.split())


def _override(id_claims: dict[str, Any], access_claims: dict[str, Any], details: object) -> None:
    """Apply Pre token generation's ``claimsOverrideDetails`` to the ID token's claims (and
    its group override to both tokens' ``cognito:groups``)."""
    if details is None:
        return
    if not isinstance(details, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    added = details.get("claimsToAddOrOverride") or {}
    suppressed = details.get("claimsToSuppress") or []
    if not isinstance(added, dict) or not isinstance(suppressed, list):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    id_claims.update({k: v for k, v in added.items() if k not in _FIXED_CLAIMS})
    for key in suppressed:
        if isinstance(key, str) and key not in _FIXED_CLAIMS:
            id_claims.pop(key, None)
    groups = details.get("groupOverrideDetails")
    if isinstance(groups, dict) and groups.get("groupsToOverride"):
        for claims in (id_claims, access_claims):
            claims["cognito:groups"] = list(groups["groupsToOverride"])
        if groups.get("preferredRole"):
            id_claims["cognito:preferred_role"] = groups["preferredRole"]


def _opaque_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")


def _claim(key: str, value: str) -> Any:
    if key.endswith("_verified"):
        return value == "true"
    return value


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(claims: Mapping[str, Any]) -> str:
    header = {"kid": "faaslib-example-key", "alg": "RS256"}
    signature = secrets.token_bytes(256)  # an RSA signature's length; it signs nothing
    return ".".join(
        (
            _b64url(json.dumps(header, separators=(",", ":")).encode()),
            _b64url(json.dumps(claims, separators=(",", ":")).encode()),
            _b64url(signature),
        )
    )


def token_claims(token: str) -> dict[str, Any]:
    """The claims (payload) of a token a :class:`UserPool` issued, as a dict (nothing is
    verified: the pool's tokens are JWT-shaped but signed by nothing).

    :raises ValueError: not a JWT-shaped token
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: expected three dot-separated parts")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    return claims
