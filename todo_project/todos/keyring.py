"""The auth service's public keys by kid: from a JWKS file, PEM files and the auth service's JWKS URL.

PyJWT does the JWK work: `RSAAlgorithm.from_jwk` reads the keys, and `PyJWKClient` checks the URL's scheme. The fetch
is ours (BoundedJWKClient: PyJWT's reads an answer of any size for any time), and so is what PyJWT's `PyJWKClient`
lacks (Keyring's docstring says what).
"""

import contextlib
import hashlib
import http.client
import json
import logging
import math
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWKClient
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError, PyJWKClientConnectionError, PyJWTError
from jwt.utils import base64url_encode

logger = logging.getLogger(__name__)

MIN_RSA_KEY_BITS = 2048
# How often the JWKS file is looked at (one stat) between lookups of an unknown kid.
JWKS_FILE_CHECK_INTERVAL = 1.0
# The most of a JWKS answer that is read. A key of 4096 bits takes about 0.8 KiB, and the auth service publishes its
# current and previous keys: anything near this size is not its JWKS, and is refused before it is read to the end.
JWKS_MAX_BYTES = 64 * 1024


# ------------------------------------------------------------------------------ JWK (twins: the auth service's keyring)


def rfc7638_thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """The key's RFC 7638 JWK thumbprint (base64url SHA-256 of its required members), the kid of every key."""
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    members = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    return base64url_encode(hashlib.sha256(members.encode()).digest()).decode()


def parse_jwks(document: Any) -> dict[str, rsa.RSAPublicKey]:
    """The RS256 signing keys of a JWKS document by kid; entries that are not usable are skipped."""
    keys: dict[str, rsa.RSAPublicKey] = {}
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
        if isinstance(key, rsa.RSAPrivateKey):
            key = key.public_key()
        if key.key_size < MIN_RSA_KEY_BITS:
            logger.warning("jwks entry skipped: RSA key too short", extra={"kid": str(jwk.get("kid"))})
            continue
        kid = jwk.get("kid")
        keys[kid if isinstance(kid, str) and kid else rfc7638_thumbprint(key)] = key
    return keys


def load_pem_files(paths: Iterable[str]) -> dict[str, rsa.RSAPublicKey]:
    """RSA public keys from PEM files, by their RFC 7638 thumbprint; unreadable files are logged and skipped."""
    keys: dict[str, rsa.RSAPublicKey] = {}
    for path in paths:
        try:
            key = load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            logger.error("public key file skipped: %s", exc, extra={"path": path})
            continue
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_KEY_BITS:
            logger.error("public key file skipped: not an RSA key of 2048 bits or more", extra={"path": path})
            continue
        keys[rfc7638_thumbprint(key)] = key
    return keys


class _Deadline:
    """Cuts a connection off when its time is up, wherever the reading is: a socket's timeout bounds each read
    only, so an answer arriving a byte at a time (headers included) could otherwise take as long as it liked."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.connection = connection
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        if self.connection.sock is not None:
            with contextlib.suppress(OSError):
                self.connection.sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


class BoundedJWKClient(PyJWKClient):
    """PyJWT's `PyJWKClient` (its constructor refuses any URL but http:// and https://) with a fetch of our own,
    bounded over the whole answer: at most `timeout` seconds from connecting to the last byte, and at most
    JWKS_MAX_BYTES of body. PyJWT's own fetch reads a body of any size, for as long as each read keeps arriving
    within the timeout. Only a 200 is taken: a redirect is refused, as PyJWT does."""

    def fetch_data(self) -> Any:
        url = urllib.parse.urlsplit(self.uri)
        if url.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                url.hostname, url.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=self.timeout)
        deadline = _Deadline(connection, self.timeout)
        try:
            connection.connect()
            if deadline.expired:
                raise TimeoutError("connecting took the whole timeout")
            connection.request(
                "GET", urllib.parse.urlunsplit(("", "", url.path or "/", url.query, "")), headers=self.headers
            )
            response = connection.getresponse()
            if response.status != HTTPStatus.OK:
                raise PyJWKClientConnectionError(f"could not fetch the JWKS: HTTP {response.status} {response.reason}")
            declared = response.getheader("Content-Length", "")
            if declared.isdigit() and int(declared) > JWKS_MAX_BYTES:
                raise ValueError(f"the JWKS answer is larger than {JWKS_MAX_BYTES} bytes")
            body = response.read(JWKS_MAX_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            cause = f"took longer than {self.timeout} s" if deadline.expired else str(exc) or type(exc).__name__
            raise PyJWKClientConnectionError(f"could not fetch the JWKS: {cause}") from exc
        finally:
            deadline.cancel()
            connection.close()
        if deadline.expired:
            raise PyJWKClientConnectionError(f"could not fetch the JWKS: took longer than {self.timeout} s")
        if len(body) > JWKS_MAX_BYTES:
            raise ValueError(f"the JWKS answer is larger than {JWKS_MAX_BYTES} bytes")
        return json.loads(body)


class Keyring:
    """Parsed public keys by kid, kept in memory; sources are re-read only when they may have changed.

    The URL is fetched by BoundedJWKClient; the rest is here because PyJWT's `PyJWKClient` lacks it: a JWKS file source
    (and PEM files), keeping the last good keys when a fetch fails (its cache forgets them when its lifespan ends),
    and a floor between refetches that holds after failed fetches too (its cooldown starts only after a success), and
    a bound on an answer's size and on its whole time (BoundedJWKClient).
    """

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
        self.jwks_file = jwks_file
        self.jwks_url = jwks_url
        # Refuses any URL but http:// and https://, and redirects; fetches only when told (no cache of its own).
        self._jwks_client = (
            BoundedJWKClient(jwks_url, cache_jwk_set=False, headers={"Accept": "application/json"}, timeout=timeout)
            if jwks_url
            else None
        )
        self.refresh_interval = refresh_interval
        self.min_refetch_interval = min_refetch_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pem_keys = load_pem_files(public_key_files)
        self._file_keys: dict[str, rsa.RSAPublicKey] = {}
        self._file_signature: tuple[int, int, int] | None = None
        self._file_checked_at = -math.inf
        self._url_keys: dict[str, rsa.RSAPublicKey] = {}
        self._url_attempted_at = -math.inf
        self._url_next_refresh = -math.inf
        # Readers use this snapshot without the lock; it is replaced whole, never changed in place.
        self._keys: dict[str, rsa.RSAPublicKey] = dict(self._pem_keys)
        # Grows whenever the set of keys changes, so verdicts reached with older keys can be dropped.
        self.generation = 0

    def get(self, kid: str) -> rsa.RSAPublicKey | None:
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
        try:
            keys = parse_jwks(self._jwks_client.fetch_data())
            if not keys:
                raise ValueError("no usable RS256 key in the document")
        except (PyJWTError, OSError, ValueError) as exc:
            # The client wraps urllib's errors and timeouts; a body cut short or not JSON still comes as OSError or
            # ValueError. Retry sooner than a full interval, never in a tight loop.
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
