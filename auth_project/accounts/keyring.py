"""The signing keyring: one active RSA key and the public halves of retired ones (docs/architecture.md).

PyJWT turns the keys into JWKs (`RSAAlgorithm.to_jwk`, `jwt.utils`). What is ours is what PyJWT has no part of: the
keyring folder (`keyring.json`, `private/`, `public/`, `jwks.json`) and its writers, and a cache that re-reads it
when it changes and keeps the last good keys when a re-read fails.
"""

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_encode

logger = logging.getLogger(__name__)

KEYRING_FILE = "keyring.json"
JWKS_FILE = "jwks.json"


class KeyringError(Exception):
    """The keyring is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class KeyRecord:
    """One entry of keyring.json."""

    kid: str
    created_at: datetime
    retired_at: datetime | None

    def as_json(self) -> dict:
        return {
            "kid": self.kid,
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
        }


@dataclass(frozen=True)
class Keyring:
    """A parsed keyring: the active private key and every published public key."""

    active_kid: str
    private_key: rsa.RSAPrivateKey
    public_keys: dict[str, rsa.RSAPublicKey] = field(repr=False)
    jwks: dict = field(repr=False)


# ------------------------------------------------------------------------------ JWK (twins: the todo service's keyring)


def rfc7638_thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """The key's RFC 7638 JWK thumbprint (base64url SHA-256 of its required members), the kid of every key."""
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    members = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    return base64url_encode(hashlib.sha256(members.encode()).digest()).decode()


def public_jwk(*, kid: str, public_key: rsa.RSAPublicKey) -> dict:
    """The JWKS entry of a public key: its members in the order the JWKS has always had (readers compare bytes)."""
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": jwk["n"], "e": jwk["e"]}


# ------------------------------------------------------------------------------ reading


def _parse_records(directory: Path) -> tuple[str, tuple[KeyRecord, ...]]:
    try:
        document = json.loads((directory / KEYRING_FILE).read_text())
        records = tuple(
            KeyRecord(
                kid=entry["kid"],
                created_at=datetime.fromisoformat(entry["created_at"]),
                retired_at=datetime.fromisoformat(entry["retired_at"]) if entry.get("retired_at") else None,
            )
            for entry in document["keys"]
        )
        active_kid = document["active_kid"]
    except FileNotFoundError as exc:
        raise KeyringError(f"No keyring at {directory}: run `manage.py signing_keys ensure`.") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyringError(f"{directory / KEYRING_FILE} is malformed: {exc}") from exc
    if active_kid not in {record.kid for record in records}:
        raise KeyringError(f"The active key {active_kid} is not listed in {directory / KEYRING_FILE}.")
    return active_kid, records


def _load_public_key(directory: Path, kid: str) -> rsa.RSAPublicKey:
    public_key = serialization.load_pem_public_key((directory / "public" / f"{kid}.pem").read_bytes())
    if not isinstance(public_key, rsa.RSAPublicKey) or rfc7638_thumbprint(public_key) != kid:
        raise KeyringError(f"public/{kid}.pem is not the RSA key its name says.")
    return public_key


def load_keyring(directory: Path) -> Keyring:
    """Read and check the whole keyring from disk."""
    active_kid, records = _parse_records(directory)
    try:
        public_keys = {record.kid: _load_public_key(directory, record.kid) for record in records}
        private_key = serialization.load_pem_private_key(
            (directory / "private" / f"{active_kid}.pem").read_bytes(), password=None
        )
    except (OSError, ValueError) as exc:
        raise KeyringError(f"Cannot read a key of the keyring at {directory}: {exc}") from exc
    if not isinstance(private_key, rsa.RSAPrivateKey) or rfc7638_thumbprint(private_key.public_key()) != active_kid:
        raise KeyringError(f"private/{active_kid}.pem is not the RSA key its name says.")
    jwks = {"keys": [public_jwk(kid=kid, public_key=key) for kid, key in _active_first(active_kid, public_keys)]}
    return Keyring(active_kid=active_kid, private_key=private_key, public_keys=public_keys, jwks=jwks)


def _active_first(active_kid: str, public_keys: dict[str, rsa.RSAPublicKey]) -> list[tuple[str, rsa.RSAPublicKey]]:
    return sorted(public_keys.items(), key=lambda item: item[0] != active_kid)


class KeyringCache:
    """The parsed keyring of one folder, re-read when keyring.json changes (checked at most once per interval)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._keyring: Keyring | None = None
        self._signature: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")

    def get(self, check_interval: float) -> Keyring:
        keyring = self._keyring
        if keyring is not None and time.monotonic() - self._checked_at < check_interval:
            return keyring
        with self._lock:
            return self._refresh()

    def _refresh(self) -> Keyring:
        self._checked_at = time.monotonic()
        try:
            stat = (self.directory / KEYRING_FILE).stat()
            signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if self._keyring is not None and signature == self._signature:
                return self._keyring
            self._keyring, self._signature = load_keyring(self.directory), signature
            logger.info("keyring loaded", extra={"active_kid": self._keyring.active_kid})
        except (OSError, KeyringError) as exc:
            if self._keyring is None:
                raise KeyringError(str(exc)) from exc
            # A half-finished change on disk must not take signing down: keep the last good keys.
            logger.warning("keyring reload failed, keeping the loaded keys", extra={"error": str(exc)})
        return self._keyring


_caches: dict[Path, KeyringCache] = {}
_caches_lock = threading.Lock()


def current_keyring() -> Keyring:
    """The keyring of JWT_KEYS_DIR as this process currently knows it."""
    directory = Path(settings.JWT_KEYS_DIR)
    cache = _caches.get(directory)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(directory, KeyringCache(directory))
    return cache.get(settings.JWT_KEYRING_CHECK_INTERVAL)


# ------------------------------------------------------------------------------ writing (management command)


@contextmanager
def _writer_lock(directory: Path) -> Iterator[None]:
    """Serialise writers (two operators rotating at once) with an advisory lock file."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _write_atomically(path: Path, content: bytes, mode: int = 0o644) -> None:
    """Write a file so that readers see either the old or the new content, never a part."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _generate_key(directory: Path, key_size: int) -> tuple[str, rsa.RSAPrivateKey]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    kid = rfc7638_thumbprint(private_key.public_key())
    (directory / "private").mkdir(mode=0o700, exist_ok=True)
    (directory / "public").mkdir(exist_ok=True)
    _write_atomically(
        directory / "private" / f"{kid}.pem",
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        mode=0o600,
    )
    _write_atomically(
        directory / "public" / f"{kid}.pem",
        private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return kid, private_key


def _publish(directory: Path, active_kid: str, records: list[KeyRecord]) -> None:
    """Write jwks.json, then keyring.json: a reader that sees the new keyring finds every file it names."""
    public_keys = {record.kid: _load_public_key(directory, record.kid) for record in records}
    jwks = {"keys": [public_jwk(kid=kid, public_key=key) for kid, key in _active_first(active_kid, public_keys)]}
    _write_atomically(directory / JWKS_FILE, json.dumps(jwks, indent=2).encode())
    document = {"active_kid": active_kid, "keys": [record.as_json() for record in records]}
    _write_atomically(directory / KEYRING_FILE, json.dumps(document, indent=2).encode())


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def keyring_ensure(*, directory: Path, key_size: int) -> tuple[str, bool]:
    """Create the first key when the folder has no keyring; return the active kid and whether one was made."""
    with _writer_lock(directory):
        if (directory / KEYRING_FILE).exists():
            return load_keyring(directory).active_kid, False
        kid, _ = _generate_key(directory, key_size)
        _publish(directory, kid, [KeyRecord(kid=kid, created_at=_now(), retired_at=None)])
        return kid, True


def keyring_rotate(*, directory: Path, key_size: int) -> tuple[str, str]:
    """Add a key and make it active; the previous one is retired and keeps only its public half."""
    with _writer_lock(directory):
        previous_kid, records = _parse_records(directory)
        kid, _ = _generate_key(directory, key_size)
        now = _now()
        updated = [
            KeyRecord(kid=record.kid, created_at=record.created_at, retired_at=record.retired_at or now)
            for record in records
        ]
        updated.append(KeyRecord(kid=kid, created_at=now, retired_at=None))
        _publish(directory, kid, updated)
        # Retired keys only ever verify; a signing key that no longer signs is a liability.
        (directory / "private" / f"{previous_kid}.pem").unlink(missing_ok=True)
        return previous_kid, kid


def keyring_prune(*, directory: Path, retired_for: timedelta) -> list[str]:
    """Drop keys retired longer ago than `retired_for` (the longest token lifetime); return their kids."""
    with _writer_lock(directory):
        active_kid, records = _parse_records(directory)
        cutoff = _now() - retired_for
        pruned = [record.kid for record in records if record.retired_at and record.retired_at <= cutoff]
        if not pruned:
            return []
        _publish(directory, active_kid, [record for record in records if record.kid not in pruned])
        for kid in pruned:
            (directory / "public" / f"{kid}.pem").unlink(missing_ok=True)
            (directory / "private" / f"{kid}.pem").unlink(missing_ok=True)
        return pruned


def keyring_records(*, directory: Path) -> tuple[str, tuple[KeyRecord, ...]]:
    """The active kid and every key listed in keyring.json."""
    return _parse_records(directory)
