"""The auth service's domain errors: what its services refuse, in plain terms; config.errors answers each over HTTP."""


class AccountError(Exception):
    """Something the account services refuse; a message, when given, is the detail the client sees."""


class InvalidCredentials(AccountError):
    """Wrong username or password; the same answer for both, so usernames cannot be probed."""


class TokenRejected(AccountError):
    """A refresh token that is invalid, expired, blacklisted, reused or of the wrong type."""


class TokenOfAnotherUser(AccountError):
    """A refresh token presented by a user it was not issued to."""


class LoginThrottled(AccountError):
    """Too many failed logins for this username or client address: no login for `retry_after` seconds."""

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class SessionNotFound(AccountError):
    """No live session of the caller has this id (another user's is answered alike)."""


class InvalidFields(AccountError):
    """Values a service refuses (a taken username, a wrong password): each field's messages, as a form shows them."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors
