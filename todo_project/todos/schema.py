"""OpenAPI description of the keyring authentication (drf-spectacular extension)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class KeyringJWTScheme(SimpleJWTScheme):
    """Bearer JWT, as for SimpleJWT's own authentication classes."""

    target_class = "todos.authentication.KeyringJWTAuthentication"
    name = "bearerAuth"
