"""Thin API views: parse input, call one service or selector, render."""

import uuid
from http import HTTPStatus

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import browser, selectors, services
from accounts.serializers import (
    AccountDeleteInputSerializer,
    DetailSerializer,
    HealthSerializer,
    JwksSerializer,
    LoginInputSerializer,
    LoginSessionSerializer,
    PasswordChangeInputSerializer,
    RefreshInputSerializer,
    RegisteredUserSerializer,
    RegisterInputSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.tokens import SESSION_CLAIM
from config.middleware import ratelimit_client_ip


class Api(GenericAPIView):
    """An endpoint of this service; it takes no query parameters unless it lists them (config.guards)."""

    query_parameters: dict[str, tuple[str, ...]] = {}

    def perform_authentication(self, request: Request) -> None:
        # An unknown method is a 405 with Allow (after content negotiation), not a 401 for a caller without a token.
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            self.http_method_not_allowed(request)
        super().perform_authentication(request)


class PublicApi(Api):
    """An endpoint for anybody: no token is read, so a stale Authorization header cannot get in the way."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # A browser form that logs in or refreshes sets cookies: it must come from the browsable API's own page.
        if request.method not in SAFE_METHODS and browser.is_browser_request(request):
            browser.enforce_csrf(request)


class RegisterApi(PublicApi):
    """Create an account; then log in."""

    name = "Register"
    serializer_class = RegisterInputSerializer

    @extend_schema(request=RegisterInputSerializer, responses={201: RegisteredUserSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(RegisteredUserSerializer(user).data, status=HTTPStatus.CREATED)


class LoginApi(PublicApi):
    """Exchange a username and password for an access and a refresh token.

    In the browsable API (development), the form signs this browser in to both services instead.
    """

    name = "Log in"
    serializer_class = LoginInputSerializer

    @extend_schema(
        request=LoginInputSerializer, responses={200: TokenPairSerializer, 401: DetailSerializer, 429: DetailSerializer}
    )
    def post(self, request: Request) -> HttpResponse:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.token_pair_for_credentials(
            client_ip=ratelimit_client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            **serializer.validated_data,
        )
        return browser.token_pair_response(request, pair)


class RefreshApi(PublicApi):
    """Exchange a refresh token for a new pair; the old refresh token stops working.

    In the browsable API, a form left empty refreshes this browser's sign-in.
    """

    name = "Refresh"
    serializer_class = RefreshInputSerializer

    @extend_schema(request=RefreshInputSerializer, responses={200: TokenPairSerializer, 401: DetailSerializer})
    def post(self, request: Request) -> HttpResponse:
        serializer = self.get_serializer(data=browser.refresh_input(request))
        serializer.is_valid(raise_exception=True)
        pair = services.token_refresh(refresh=serializer.validated_data["refresh"])
        return browser.token_pair_response(request, pair)


class LogoutApi(Api):
    """Revoke a refresh token. In the browsable API, end this browser's sign-in."""

    name = "Log out"
    permission_classes = [IsAuthenticated]
    serializer_class = RefreshInputSerializer

    @extend_schema(request=RefreshInputSerializer, responses={204: None, 401: DetailSerializer, 403: DetailSerializer})
    def post(self, request: Request) -> HttpResponse:
        serializer = self.get_serializer(data=browser.refresh_input(request))
        serializer.is_valid(raise_exception=True)
        services.token_revoke(user=request.user, refresh=serializer.validated_data["refresh"])
        return browser.logged_out_response(request)


class MeApi(Api):
    """The signed-in user."""

    name = "Me"
    permission_classes = [IsAuthenticated]
    serializer_class = UserSerializer
    delete_request_serializer = AccountDeleteInputSerializer

    @extend_schema(responses={200: UserSerializer, 401: DetailSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=AccountDeleteInputSerializer,
        responses={204: None, 401: DetailSerializer, 429: DetailSerializer},
        description="Delete the caller's account; a wrong password is 400 and spends the login budgets.",
    )
    def delete(self, request: Request) -> Response:
        serializer = AccountDeleteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_delete_own(user=request.user, client_ip=ratelimit_client_ip(request), **serializer.validated_data)
        return Response(status=HTTPStatus.NO_CONTENT)


class PasswordChangeApi(Api):
    """Change the password; every refresh token of the user stops working."""

    name = "Password change"
    permission_classes = [IsAuthenticated]
    serializer_class = PasswordChangeInputSerializer

    @extend_schema(
        request=PasswordChangeInputSerializer,
        responses={204: None, 401: DetailSerializer, 429: DetailSerializer},
        description="Change the password; every session of the user ends. A wrong old password is 400 and spends "
        "the login budgets, as a failed login does (429 once they are spent).",
    )
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_password_change(
            user=request.user, client_ip=ratelimit_client_ip(request), **serializer.validated_data
        )
        return Response(status=HTTPStatus.NO_CONTENT)


def _current_session_id(request: Request) -> str | None:
    # The browsable API's session cookie and a Bearer token both carry a validated token here.
    token = request.auth
    return str(token.get(SESSION_CLAIM)) if token is not None and token.get(SESSION_CLAIM) else None


class LoginSessionListApi(Api):
    """The caller's live sessions: one per login, kept through refreshes until logout or its end."""

    name = "Sessions"
    permission_classes = [IsAuthenticated]
    serializer_class = LoginSessionSerializer
    pagination_class = None

    @extend_schema(responses={200: LoginSessionSerializer(many=True), 401: DetailSerializer})
    def get(self, request: Request) -> Response:
        sessions = selectors.login_session_list(user_id=request.user.pk)
        context = {"current_session_id": _current_session_id(request)}
        return Response(LoginSessionSerializer(sessions, many=True, context=context).data)


class LoginSessionApi(Api):
    """One session of the caller; ending it makes its refresh tokens stop working."""

    name = "Session"
    permission_classes = [IsAuthenticated]
    serializer_class = LoginSessionSerializer

    @extend_schema(responses={204: None, 401: DetailSerializer, 404: DetailSerializer})
    def delete(self, request: Request, session_id: uuid.UUID) -> Response:
        services.login_session_end(user_id=request.user.pk, session_id=session_id)
        return Response(status=HTTPStatus.NO_CONTENT)


class JwksApi(PublicApi):
    """The public keys that verify access tokens (RFC 7517)."""

    name = "JWKS"

    @extend_schema(responses={200: JwksSerializer})
    def get(self, request: Request) -> Response:
        return Response(selectors.jwks_get(), headers={"Cache-Control": f"public, max-age={settings.JWT_JWKS_MAX_AGE}"})


class HealthApi(PublicApi):
    """Readiness: the database answers."""

    name = "Health"

    @extend_schema(responses={200: HealthSerializer, 503: DetailSerializer})
    def get(self, request: Request) -> Response:
        if selectors.database_is_ready():
            return Response({"status": "ok"})
        return Response(
            {"status": "unavailable", "detail": "The database does not answer."},
            status=HTTPStatus.SERVICE_UNAVAILABLE,
        )
