"""A password validator Django lacks (twins in both services): too few different characters."""

from typing import Any

from django.core.exceptions import ValidationError

# Different characters a password needs, white space not counted. Twelve spaces, "aaaaaaaaaaaa" or "abcabcabcabc"
# pass Django's own validators (long enough, not on the common list, not all digits) and are guessed at once.
MIN_DISTINCT_CHARACTERS = 5


class DistinctCharactersValidator:
    """Refuses a password made of fewer than MIN_DISTINCT_CHARACTERS different characters besides white space."""

    def validate(self, password: str, user: Any = None) -> None:
        if len({character for character in password if not character.isspace()}) < MIN_DISTINCT_CHARACTERS:
            raise ValidationError(
                f"This password repeats too few characters: use at least {MIN_DISTINCT_CHARACTERS} different ones.",
                code="password_too_repetitive",
            )

    def get_help_text(self) -> str:
        return f"Your password must use at least {MIN_DISTINCT_CHARACTERS} different characters besides spaces."
