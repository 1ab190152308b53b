"""Thin API views: parse input, call one service or selector, render."""

from http import HTTPStatus

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.serializers import (
    AccountDeleteInputSerializer,
    DetailSerializer,
    HealthSerializer,
    JwksSerializer,
    LoginInputSerializer,
    PasswordChangeInputSerializer,
    RefreshInputSerializer,
    RegisteredUserSerializer,
    RegisterInputSerializer,
    TokenPairSerializer,
    UserSerializer,
)


class PublicApi(APIView):
    """An endpoint for anybody: no token is read, so a stale Authorization header cannot get in the way."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class RegisterApi(PublicApi):
    @extend_schema(request=RegisterInputSerializer, responses={201: RegisteredUserSerializer})
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(RegisteredUserSerializer(user).data, status=HTTPStatus.CREATED)


class LoginApi(PublicApi):
    @extend_schema(
        request=LoginInputSerializer, responses={200: TokenPairSerializer, 401: DetailSerializer, 429: DetailSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.token_pair_for_credentials(request=request, **serializer.validated_data)
        return Response(pair)


class RefreshApi(PublicApi):
    @extend_schema(request=RefreshInputSerializer, responses={200: TokenPairSerializer, 401: DetailSerializer})
    def post(self, request: Request) -> Response:
        serializer = RefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=serializer.validated_data["refresh"]))


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RefreshInputSerializer, responses={204: None, 401: DetailSerializer})
    def post(self, request: Request) -> Response:
        serializer = RefreshInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.token_revoke(user=request.user, refresh=serializer.validated_data["refresh"])
        return Response(status=HTTPStatus.NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserSerializer, 401: DetailSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=AccountDeleteInputSerializer,
        responses={204: None, 400: None, 401: DetailSerializer},
        # drf-spectacular renders no request body for DELETE (OpenAPI 3.0 leaves it undefined), so say it here.
        description='Delete the caller\'s account. JSON body: `{"password": "..."}`; a wrong password is 400.',
    )
    def delete(self, request: Request) -> Response:
        serializer = AccountDeleteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_delete_own(user=request.user, **serializer.validated_data)
        return Response(status=HTTPStatus.NO_CONTENT)


class PasswordChangeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=PasswordChangeInputSerializer, responses={204: None, 400: None, 401: DetailSerializer})
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_change(user=request.user, **serializer.validated_data)
        return Response(status=HTTPStatus.NO_CONTENT)


class JwksApi(PublicApi):
    @extend_schema(responses={200: JwksSerializer})
    def get(self, request: Request) -> Response:
        return Response(selectors.jwks_get(), headers={"Cache-Control": f"public, max-age={settings.JWT_JWKS_MAX_AGE}"})


class HealthApi(PublicApi):
    @extend_schema(responses={200: HealthSerializer, 503: DetailSerializer})
    def get(self, request: Request) -> Response:
        if selectors.database_is_ready():
            return Response({"status": "ok"})
        return Response(
            {"status": "unavailable", "detail": "The database does not answer."},
            status=HTTPStatus.SERVICE_UNAVAILABLE,
        )
