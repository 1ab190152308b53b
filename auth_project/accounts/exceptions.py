"""API errors the account services raise; DRF renders each as JSON `{"detail": ...}`."""

from rest_framework import status
from rest_framework.exceptions import APIException, Throttled


class InvalidCredentials(APIException):
    """Wrong username or password; the same answer for both, so usernames cannot be probed."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Invalid username or password."
    default_code = "invalid_credentials"


class TokenRejected(APIException):
    """A refresh token that is invalid, expired, blacklisted, reused or of the wrong type."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Token is invalid or expired."
    default_code = "token_not_valid"


class LoginThrottled(Throttled):
    """Too many failed logins for this username or client address; DRF adds Retry-After."""

    default_detail = "Too many failed login attempts."
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."
    default_code = "login_throttled"


class SessionNotFound(APIException):
    """No live session of the caller has this id (another user's is answered alike)."""

    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "No such session."
    default_code = "session_not_found"
