"""Request and response shapes; input fields are strict (no coercion of numbers or booleans into strings)."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.utils import html

from accounts.models import LoginSession, User

PASSWORD_MAX_LENGTH = 256
NEW_PASSWORD_MIN_LENGTH = settings.PASSWORD_MIN_LENGTH


class StrictCharField(serializers.CharField):
    """A CharField that refuses a non-string instead of turning 5 into "5".

    Taken as sent, never trimmed, so the lengths the schema states are the lengths the server checks.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    """An EmailField that refuses a non-string; taken as sent, never trimmed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class NoUnknownFieldsMixin:
    """A JSON body with a field the serializer does not declare is a 400 naming it, as the schema's
    `additionalProperties: false` says; declared read-only fields stay accepted and ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and not html.is_html_input(data):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def _password_field(*, min_length: int | None = None) -> StrictCharField:
    # Passwords keep their spaces; the bound keeps a hostile request from buying a long hash computation.
    return StrictCharField(
        min_length=min_length,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        style={"input_type": "password"},
    )


class RegisterInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    username = StrictCharField(max_length=150, validators=[User.username_validator])
    email = StrictEmailField(max_length=254)
    # Django's MinimumLengthValidator, said in the schema too.
    password = _password_field(min_length=NEW_PASSWORD_MIN_LENGTH)


class LoginInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = _password_field()


class RefreshInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    refresh = StrictCharField(max_length=4096)


class PasswordChangeInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    old_password = _password_field()
    new_password = _password_field(min_length=NEW_PASSWORD_MIN_LENGTH)


class RegisteredUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email"]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined"]


class LoginSessionSerializer(serializers.ModelSerializer):
    """A live session; `current` is true for the one the caller's access token names."""

    current = serializers.SerializerMethodField()

    class Meta:
        model = LoginSession
        fields = ["id", "created_at", "last_refreshed_at", "expires_at", "user_agent", "client_ip", "current"]
        read_only_fields = fields

    def get_current(self, session: LoginSession) -> bool:
        return str(session.id) == self.context.get("current_session_id")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()


class JwkSerializer(serializers.Serializer):
    kty = serializers.CharField()
    kid = serializers.CharField()
    use = serializers.CharField()
    alg = serializers.CharField()
    n = serializers.CharField()
    e = serializers.CharField()


class JwksSerializer(serializers.Serializer):
    keys = JwkSerializer(many=True)


class AccountDeleteInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    password = _password_field()
