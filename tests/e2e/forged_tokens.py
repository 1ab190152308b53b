"""Tokens for the gateway's check: signed with the stack's own key (to prove each claim is checked) or a stranger's."""

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


def decode_part(token: str, index: int) -> dict[str, Any]:
    """The header (0) or the claims (1) of a token, unverified."""
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def stack_signing_key(var_dir: Path) -> tuple[str, rsa.RSAPrivateKey]:
    """The stack's active signing key and its kid, read from its keyring as the auth service does."""
    keys_dir = var_dir / "keys"
    kid = json.loads((keys_dir / "keyring.json").read_text())["active_kid"]
    key = serialization.load_pem_private_key((keys_dir / "private" / f"{kid}.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return kid, key


def rs256(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    signing_input = f"{_segment({'typ': 'JWT', **header, 'alg': 'RS256'})}.{_segment(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """The algorithm-confusion forgery: HMAC with a public key as the secret."""
    signing_input = f"{_segment({'typ': 'JWT', **header, 'alg': 'HS256'})}.{_segment(claims)}"
    return f"{signing_input}.{_b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_segment({'typ': 'JWT', **header, 'alg': 'none'})}.{_segment(claims)}."


def access_claims(template: str, **changes: Any) -> dict[str, Any]:
    """A real access token's claims with a fresh expiry, changed as given."""
    claims = decode_part(template, 1) | {"iat": int(time.time()), "exp": int(time.time()) + 300}
    return claims | changes
