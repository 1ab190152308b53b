"""The todo service's domain errors: what its services refuse, in plain terms; config.errors answers each over HTTP."""


class TodoError(Exception):
    """Something the todo services refuse; a message, when given, is the detail the client sees."""


class TodoNotFound(TodoError):
    """No todo with this id belongs to the owner (another owner's todo is answered alike)."""


class TodoVersionMismatch(TodoError):
    """The todo changed since the caller read it: its version is not the one the caller expected."""


class IdempotencyKeyInvalid(TodoError):
    """An idempotency key that is not 1 to 255 printable ASCII characters."""


class IdempotencyKeyInUse(TodoError):
    """A request with this idempotency key is still running."""


class IdempotencyKeyMismatch(TodoError):
    """This idempotency key was first sent with another request (method, path or body)."""
