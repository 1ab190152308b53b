"""The auth service's public keys by kid: from a JWKS file, PEM files and the auth service's JWKS URL."""

import base64
import hashlib
import json
import logging
import math
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

logger = logging.getLogger(__name__)

MIN_RSA_KEY_BITS = 2048
# How often the JWKS file is looked at (one stat) between lookups of an unknown kid.
JWKS_FILE_CHECK_INTERVAL = 1.0
MAX_JWKS_BYTES = 1024 * 1024


def rfc7638_thumbprint(key: RSAPublicKey) -> str:
    """The key's RFC 7638 JWK thumbprint (base64url SHA-256), the kid the auth service writes."""
    numbers = key.public_numbers()
    members = {"e": _b64_uint(numbers.e), "kty": "RSA", "n": _b64_uint(numbers.n)}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64_uint(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def parse_jwks(document: Any) -> dict[str, RSAPublicKey]:
    """The RS256 signing keys of a JWKS document by kid; entries that are not usable are skipped."""
    keys: dict[str, RSAPublicKey] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return keys
    for jwk in entries:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            key = RSAAlgorithm.from_jwk(jwk)
        except (InvalidKeyError, ValueError, TypeError, KeyError):
            logger.warning("jwks entry skipped: not a valid RSA key", extra={"kid": str(jwk.get("kid"))})
            continue
        if isinstance(key, RSAPrivateKey):
            key = key.public_key()
        if key.key_size < MIN_RSA_KEY_BITS:
            logger.warning("jwks entry skipped: RSA key too short", extra={"kid": str(jwk.get("kid"))})
            continue
        kid = jwk.get("kid")
        keys[kid if isinstance(kid, str) and kid else rfc7638_thumbprint(key)] = key
    return keys


def load_pem_files(paths: Iterable[str]) -> dict[str, RSAPublicKey]:
    """RSA public keys from PEM files, by their RFC 7638 thumbprint; unreadable files are logged and skipped."""
    keys: dict[str, RSAPublicKey] = {}
    for path in paths:
        try:
            key = load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            logger.error("public key file skipped: %s", exc, extra={"path": path})
            continue
        if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_KEY_BITS:
            logger.error("public key file skipped: not an RSA key of 2048 bits or more", extra={"path": path})
            continue
        keys[rfc7638_thumbprint(key)] = key
    return keys


class Keyring:
    """Parsed public keys by kid, kept in memory; sources are re-read only when they may have changed."""

    def __init__(
        self,
        *,
        jwks_file: str = "",
        public_key_files: Iterable[str] = (),
        jwks_url: str = "",
        timeout: float = 2.0,
        refresh_interval: float = 300.0,
        min_refetch_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if jwks_url and not jwks_url.startswith(("http://", "https://")):
            raise ValueError("JWT_JWKS_URL must be an http:// or https:// URL")
        self.jwks_file = jwks_file
        self.jwks_url = jwks_url
        self.timeout = timeout
        self.refresh_interval = refresh_interval
        self.min_refetch_interval = min_refetch_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pem_keys = load_pem_files(public_key_files)
        self._file_keys: dict[str, RSAPublicKey] = {}
        self._file_signature: tuple[int, int, int] | None = None
        self._file_checked_at = -math.inf
        self._url_keys: dict[str, RSAPublicKey] = {}
        self._url_attempted_at = -math.inf
        self._url_next_refresh = -math.inf
        # Readers use this snapshot without the lock; it is replaced whole, never changed in place.
        self._keys: dict[str, RSAPublicKey] = dict(self._pem_keys)
        # Grows whenever the set of keys changes, so verdicts reached with older keys can be dropped.
        self.generation = 0

    def get(self, kid: str) -> RSAPublicKey | None:
        """The key for kid; an unknown kid re-reads the sources at most once per rate-limit window."""
        self.refresh_when_due()
        key = self._keys.get(kid)
        if key is None:
            self._refresh_for_unknown_kid()
            key = self._keys.get(kid)
        return key

    def refresh_when_due(self) -> None:
        """Re-read the sources whose interval has passed: cheap (a clock read) when none has."""
        now = self._clock()
        file_due = self.jwks_file and now - self._file_checked_at >= JWKS_FILE_CHECK_INTERVAL
        url_due = self.jwks_url and now >= self._url_next_refresh
        if not (file_due or url_due):
            return
        # Without any key yet, wait for the thread already loading; otherwise keep serving with the current keys.
        if not self._lock.acquire(blocking=not self._keys):
            return
        try:
            now = self._clock()
            if self.jwks_file and now - self._file_checked_at >= JWKS_FILE_CHECK_INTERVAL:
                self._reload_file(now)
            if self.jwks_url and now >= self._url_next_refresh:
                self._fetch_url()
        finally:
            self._lock.release()

    def _refresh_for_unknown_kid(self) -> None:
        with self._lock:
            now = self._clock()
            if self.jwks_file:
                self._reload_file(now)
            if self.jwks_url and now - self._url_attempted_at >= self.min_refetch_interval:
                self._fetch_url()

    def _reload_file(self, now: float) -> None:
        self._file_checked_at = now
        try:
            stat = os.stat(self.jwks_file)
        except OSError:
            signature = None
        else:
            # The inode catches an atomic replace (write then rename) even within the clock's resolution.
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if signature == self._file_signature:
            return
        if signature is None:
            logger.warning("jwks file missing, keeping its last keys", extra={"path": self.jwks_file})
            return
        try:
            document = json.loads(Path(self.jwks_file).read_bytes())
        except (OSError, ValueError) as exc:
            # Possibly caught mid-write: leave the signature unchanged so the next look tries again.
            logger.warning("jwks file unreadable, keeping its last keys: %s", exc, extra={"path": self.jwks_file})
            return
        self._file_signature = signature
        self._file_keys = parse_jwks(document)
        self._publish()
        logger.info("jwks file loaded", extra={"path": self.jwks_file, "kids": sorted(self._file_keys)})

    def _fetch_url(self) -> None:
        request = urllib.request.Request(self.jwks_url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                keys = parse_jwks(json.loads(response.read(MAX_JWKS_BYTES)))
            if not keys:
                raise ValueError("no usable RS256 key in the document")
        except (OSError, ValueError) as exc:
            # urllib's errors and timeouts are OSErrors. Retry sooner than a full interval, never in a tight loop.
            self._url_attempted_at = self._clock()
            self._url_next_refresh = self._url_attempted_at + min(self.min_refetch_interval, self.refresh_interval)
            logger.warning("jwks fetch failed, keeping the last good keys: %s", exc, extra={"url": self.jwks_url})
            return
        # Timed from the answer, so a slow fetch never makes the next one due at once.
        self._url_attempted_at = self._clock()
        self._url_next_refresh = self._url_attempted_at + self.refresh_interval
        self._url_keys = keys
        self._publish()
        logger.info("jwks fetched", extra={"url": self.jwks_url, "kids": sorted(keys)})

    def _publish(self) -> None:
        keys = {**self._pem_keys, **self._file_keys, **self._url_keys}
        if keys != self._keys:
            self._keys = keys
            self.generation += 1
