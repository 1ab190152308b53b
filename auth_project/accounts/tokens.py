"""SimpleJWT tokens signed with the keyring's active key and verified with the key their `kid` names."""

from typing import Any

import jwt
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings

from accounts.keyring import current_keyring


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


class AccessToken(tokens.AccessToken):
    """A 5-minute (by default) access token from the keyring."""

    _token_backend = token_backend


class RefreshToken(tokens.RefreshToken):
    """A refresh token from the keyring; outstanding and blacklistable."""

    _token_backend = token_backend
    access_token_class = AccessToken
