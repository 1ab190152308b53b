"""Stateless RS256 access-token authentication: the verifying key is chosen by the token's kid from the keyring."""

import logging
import re
import threading
import time
from contextvars import ContextVar
from typing import Any

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError, TokenBackendExpiredToken
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token

from todos.keyring import Keyring
from todos.metrics import token_refusals
from todos.selectors import account_check

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
# Verified tokens remembered per process (about 1 KiB each); the oldest goes first.
VERIFIED_TOKENS_KEPT = 4096
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub", "jti", "token_type"]
# The owner id is stored as given; anything else (empty, too long for the column, control characters) is refused.
VALID_OWNER_ID = re.compile(r"[\x21-\x7e]{1,64}")
# The last second a datetime can hold (9999-12-31T23:59:59Z). SimpleJWT turns exp into a datetime after the signature
# check: a signed exp of 1e30 raised OverflowError there, a 500. PyJWT checks only that the times are numbers.
LAST_TIMESTAMP = 253_402_300_799
TIME_CLAIMS = ("exp", "iat", "nbf")
# JWS compact serialization: three base64url segments without padding (RFC 7515 section 2). PyJWT also decodes a
# segment with "=" padding, so one token had many spellings, each a fresh RSA check past the verified-token cache.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def is_compact_jws(token: str | bytes) -> bool:
    """Whether the token is spelled as JWS compact serialization allows, and only so."""
    text = token.decode("ascii", "replace") if isinstance(token, bytes) else str(token)
    return COMPACT_JWS.fullmatch(text) is not None


def times_in_range(payload: dict[str, Any]) -> bool:
    """Whether every time claim the payload has is a number a datetime can hold."""
    return all(
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= LAST_TIMESTAMP
        for value in (payload[claim] for claim in TIME_CLAIMS if claim in payload)
    )


_keyring: Keyring | None = None
_keyring_lock = threading.Lock()


def get_keyring() -> Keyring:
    """The process-wide keyring, built once from the JWT_* settings."""
    global _keyring  # one parsed keyring per process is the point
    if _keyring is None:
        with _keyring_lock:
            if _keyring is None:
                _keyring = Keyring(
                    jwks_file=settings.JWT_JWKS_FILE,
                    public_key_files=settings.JWT_PUBLIC_KEY_FILES,
                    jwks_url=settings.JWT_JWKS_URL,
                    timeout=settings.JWT_JWKS_TIMEOUT,
                    refresh_interval=settings.JWT_JWKS_REFRESH_INTERVAL,
                    min_refetch_interval=settings.JWT_JWKS_MIN_REFETCH_INTERVAL,
                )
    return _keyring


@receiver(setting_changed)
def reset_keyring(*, setting: str, **kwargs: Any) -> None:
    """Rebuild the keyring when a test changes a key setting."""
    global _keyring
    if setting.startswith("JWT_"):
        _keyring = None


# Why the backend refused the token being verified, for the refusals metric: a few fixed reasons, never a value
# taken from the client.
refusal_reason: ContextVar[str] = ContextVar("token_refusal_reason", default="")
_REFUSAL_REASONS = {
    "Token is expired": "expired",
    "Token signed by an unknown key": "unknown_key",
    "Invalid algorithm specified": "algorithm",
    "Token has no key id": "no_key_id",
    "Token has wrong type": "wrong_type",
}


class KeyringTokenBackend(TokenBackend):
    """SimpleJWT's backend, verifying RS256 only, with the key the token's kid names.

    A client sends the same access token with every request for its whole lifetime, so the payload of a verified
    token is remembered (per process, bounded) until it expires or the keyring changes: the RSA check and the
    parsing run once per token, not once per request.
    """

    def __init__(self, algorithm: str) -> None:
        super().__init__(algorithm)
        self._verified: dict[bytes | str, tuple[Keyring, int, dict[str, Any]]] = {}
        self._verified_lock = threading.Lock()

    def decode(self, token: Token | bytes | str, verify: bool = True) -> dict[str, Any]:
        keyring = get_keyring()
        keyring.refresh_when_due()
        remembered = self._verified.get(token)
        if remembered is not None:
            verified_by, generation, payload = remembered
            if (
                verified_by is keyring
                and generation == keyring.generation
                and payload["exp"] > time.time() - self.get_leeway().total_seconds()
            ):
                return dict(payload)
        try:
            payload = self._verify(token, keyring)
        except TokenBackendError as exc:
            # SimpleJWT replaces this message with a generic one; the metric keeps the reason.
            refusal_reason.set(_REFUSAL_REASONS.get(str(exc), "invalid"))
            raise
        with self._verified_lock:
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                del self._verified[next(iter(self._verified))]
            self._verified[token] = (keyring, keyring.generation, payload)
        return dict(payload)

    def _verify(self, token: Token | bytes | str, keyring: Keyring) -> dict[str, Any]:
        if not is_compact_jws(token):
            raise TokenBackendError("Token is invalid")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        # Checked before any key lookup, so a forged header (alg=none, HS256) never causes a JWKS refetch.
        if header.get("alg") != ALGORITHM:
            raise TokenBackendError("Invalid algorithm specified")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenBackendError("Token has no key id")
        key = keyring.get(kid)
        if key is None:
            logger.info("token refused: unknown kid", extra={"kid": kid[:100]})
            raise TokenBackendError("Token signed by an unknown key")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=api_settings.AUDIENCE,
                issuer=api_settings.ISSUER,
                leeway=self.get_leeway(),
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("Token is expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        if not times_in_range(payload):
            raise TokenBackendError("Token is invalid")
        return payload


_token_backend = KeyringTokenBackend(ALGORITHM)
_token_backend.leeway = api_settings.LEEWAY  # JWT_LEEWAY: clock skew allowed on exp, nbf, iat


class KeyringAccessToken(AccessToken):
    """An access token (token_type "access") verified by the keyring backend."""

    @property
    def token_backend(self) -> TokenBackend:
        return _token_backend


# Where a request keeps the outcome of a token check that already ran on it (the conditional list's shortcut,
# todos.middleware): the (user, token) pair, None for no bearer token, or the exception the check raised.
_SETTLED = "_todos_token_check"


def settle_token_check(request: HttpRequest, outcome: tuple[TokenUser, Token] | BaseException | None) -> None:
    """Keep a token check's outcome on the request, for the authentication of the view that answers it next."""
    setattr(request, _SETTLED, outcome)


class KeyringJWTAuthentication(JWTStatelessUserAuthentication):
    """Bearer access tokens, verified without a network call; account events are read from this service's database."""

    www_authenticate_realm = "todos"

    def authenticate(self, request: Request | HttpRequest) -> tuple[TokenUser, Token] | None:
        # A check that already ran on this request stands: the token is verified, queried and counted once.
        django_request = getattr(request, "_request", request)
        if _SETTLED in django_request.__dict__:
            outcome = django_request.__dict__.pop(_SETTLED)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return super().authenticate(request)

    def get_validated_token(self, raw_token: bytes) -> Token:
        reset = refusal_reason.set("")
        try:
            return super().get_validated_token(raw_token)
        except InvalidToken as exc:
            token_refusals.labels(reason=refusal_reason.get() or _refusal_reason(exc)).inc()
            raise
        finally:
            refusal_reason.reset(reset)

    def get_user(self, validated_token: Token) -> TokenUser:
        owner_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if not isinstance(owner_id, str) or not VALID_OWNER_ID.fullmatch(owner_id):
            token_refusals.labels(reason="no_subject").inc()
            raise InvalidToken("Token contained no recognizable user identification")
        issued_at = validated_token.get("iat")
        # One query of this service's own database: what the auth service's events said of the user, and the stamp
        # of the user's list (the list's ETag needs it next; reading both costs one round trip).
        check = account_check(owner_id=owner_id, issued_at=issued_at if isinstance(issued_at, int) else 0)
        if check.refuses_token:
            token_refusals.labels(reason="account_ended").inc()
            raise InvalidToken("The account of this token is deleted or deactivated")
        user = TokenUser(validated_token)
        user.list_stamp = check.list_stamp
        return user


def _refusal_reason(exc: InvalidToken) -> str:
    """The reason of a refusal SimpleJWT made after the signature check (a refresh token sent as an access token)."""
    messages = exc.detail.get("messages", []) if isinstance(exc.detail, dict) else []
    for message in messages:
        reason = _REFUSAL_REASONS.get(str(message.get("message", "")))
        if reason:
            return reason
    return "invalid"
