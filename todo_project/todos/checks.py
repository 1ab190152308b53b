"""System checks: the token key sources named by the environment."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from todos.keyring import load_pem_files


@register()
def key_sources_check(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    """Every PEM file must hold a usable key; with no key source at all, every token would be refused."""
    messages: list[Error | Warning] = []
    for path in settings.JWT_PUBLIC_KEY_FILES:
        if not load_pem_files([path]):
            messages.append(
                Error(f"JWT_PUBLIC_KEY_FILES: {path} is not a readable RSA public key (PEM).", id="todos.E001")
            )
    if not (settings.JWT_JWKS_FILE or settings.JWT_PUBLIC_KEY_FILES or settings.JWT_JWKS_URL):
        messages.append(
            Warning(
                "No token key source: every token will be refused.",
                hint="Set JWT_JWKS_FILE, JWT_PUBLIC_KEY_FILES or JWT_JWKS_URL.",
                id="todos.W001",
            )
        )
    elif settings.JWT_JWKS_FILE and not Path(settings.JWT_JWKS_FILE).is_file():
        messages.append(
            Warning(
                f"JWT_JWKS_FILE: {settings.JWT_JWKS_FILE} does not exist yet; it is read when it appears.",
                id="todos.W002",
            )
        )
    return messages
