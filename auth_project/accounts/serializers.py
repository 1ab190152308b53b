"""Request and response shapes; input fields are strict (no coercion of numbers or booleans into strings)."""

from rest_framework import serializers

from accounts.models import User

PASSWORD_MAX_LENGTH = 256


class StrictCharField(serializers.CharField):
    """A CharField that refuses a non-string instead of turning 5 into "5"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    """An EmailField that refuses a non-string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _password_field() -> StrictCharField:
    # Passwords keep their spaces; the bound keeps a hostile request from buying a long hash computation.
    return StrictCharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, style={"input_type": "password"})


class RegisterInputSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150, validators=[User.username_validator])
    email = StrictEmailField(max_length=254)
    password = _password_field()


class LoginInputSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = _password_field()


class RefreshInputSerializer(serializers.Serializer):
    refresh = StrictCharField(max_length=4096)


class PasswordChangeInputSerializer(serializers.Serializer):
    old_password = _password_field()
    new_password = _password_field()


class RegisteredUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email"]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "date_joined"]


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


class AccountDeleteInputSerializer(serializers.Serializer):
    password = _password_field()
