"""SimpleJWT tokens signed with the keyring's active key and verified with the key their `kid` names."""

import json
import re
from typing import Any

import jwt
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.keyring import current_keyring

# The claim naming the login session (token family) of a refresh token and of the access tokens made from it.
SESSION_CLAIM = "sid"
# The last second a datetime can hold (9999-12-31T23:59:59Z). SimpleJWT turns exp into a datetime after the signature
# check: a signed exp of 1e30 raised OverflowError there, a 500. PyJWT checks only that the times are numbers.
LAST_TIMESTAMP = 253_402_300_799
TIME_CLAIMS = ("exp", "iat", "nbf")
# A user id as this service writes it in `sub`; another (a name, "-1") made the user lookup raise, a 500.
USER_ID = re.compile(r"[1-9][0-9]{0,18}")
# JWS compact serialization: three base64url segments without padding (RFC 7515 section 2). PyJWT also decodes a
# segment with "=" padding, so one token had many spellings (the gateway refuses them; so does this service).
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def is_compact_jws(token: str | bytes) -> bool:
    """Whether the token is spelled as JWS compact serialization allows, and only so."""
    text = token.decode("ascii", "replace") if isinstance(token, bytes) else str(token)
    return COMPACT_JWS.fullmatch(text) is not None


def times_in_range(payload: dict[str, Any]) -> bool:
    """Whether every time claim the payload has is a number a datetime can hold (as the todo service checks)."""
    return all(
        isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= LAST_TIMESTAMP
        for value in (payload[claim] for claim in TIME_CLAIMS if claim in payload)
    )


class KeyringTokenBackend(TokenBackend):
    """RS256 backend that writes a `kid` header and picks the verifying key by `kid`, retired keys included."""

    def encode(self, payload: dict[str, Any]) -> str:
        keyring = current_keyring()
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(
            claims,
            keyring.private_key,
            algorithm=self.algorithm,
            headers={"kid": keyring.active_kid},
            json_encoder=self.json_encoder,
        )

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        """SimpleJWT's checks, then the ones only a token signed with our own key could fail: time claims a datetime
        can hold, and a `sub` that is a user id. Either would otherwise have been a 500 further on."""
        if not is_compact_jws(token):
            raise TokenBackendError(_("Token is invalid"))
        payload = super().decode(token, verify)
        if not times_in_range(payload) or ("sub" in payload and not USER_ID.fullmatch(str(payload["sub"]))):
            raise TokenBackendError(_("Token is invalid"))
        return payload

    def get_verifying_key(self, token: Any) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError(_("Token is invalid")) from exc
        public_key = current_keyring().public_keys.get(kid) if isinstance(kid, str) else None
        if public_key is None:
            raise TokenBackendError(_("Token is invalid"))
        return public_key


token_backend = KeyringTokenBackend(
    algorithm="RS256",
    audience=api_settings.AUDIENCE,
    issuer=api_settings.ISSUER,
    leeway=api_settings.LEEWAY,
)


class SignedOnce:
    """Signs a token once per payload instead of on every str().

    SimpleJWT signs afresh each time a token is turned into a string, and a refresh did so four times (the
    new token's outstanding row, the response, the old token's blacklist row, the access token), at about a
    millisecond per RS256 signature. A token read from a string keeps that string until its payload changes.
    """

    def __init__(self, token: Any = None, verify: bool = True) -> None:
        super().__init__(token, verify)
        text = token.decode() if isinstance(token, bytes) else token
        self._signed = (self._payload_snapshot(), text) if text is not None else None

    def _payload_snapshot(self) -> str:
        return json.dumps(self.payload, sort_keys=True, default=str)

    def __str__(self) -> str:
        snapshot = self._payload_snapshot()
        if self._signed is None or self._signed[0] != snapshot:
            self._signed = (snapshot, super().__str__())
        return self._signed[1]


class AccessToken(SignedOnce, tokens.AccessToken):
    """A 5-minute (by default) access token from the keyring."""

    _token_backend = token_backend


class RefreshToken(SignedOnce, tokens.RefreshToken):
    """A refresh token from the keyring; outstanding and blacklistable."""

    _token_backend = token_backend
    access_token_class = AccessToken

    @classmethod
    def for_session(cls, *, user: Any, session_id: str) -> "RefreshToken":
        """A new outstanding refresh token of the user in a session; signed once, with its `sid` already in."""
        token = cls()
        token[api_settings.USER_ID_CLAIM] = str(user.pk)
        token[SESSION_CLAIM] = session_id
        OutstandingToken.objects.create(
            user=user,
            jti=token[api_settings.JTI_CLAIM],
            token=str(token),
            created_at=token.current_time,
            expires_at=datetime_from_epoch(token["exp"]),
        )
        return token
