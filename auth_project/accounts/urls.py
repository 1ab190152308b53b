from django.urls import path

from accounts import apis


def _with_and_without_slash(route: str, view, name: str) -> list:
    """Every endpoint answers with and without its trailing slash, POST included, without a redirect."""
    twin = route[:-1] if route.endswith("/") else f"{route}/"
    return [path(route, view, name=name), path(twin, view)]


app_name = "accounts"
urlpatterns = [
    *_with_and_without_slash("register/", apis.RegisterApi.as_view(), "register"),
    *_with_and_without_slash("login/", apis.LoginApi.as_view(), "login"),
    *_with_and_without_slash("refresh/", apis.RefreshApi.as_view(), "refresh"),
    *_with_and_without_slash("logout/", apis.LogoutApi.as_view(), "logout"),
    *_with_and_without_slash("me/", apis.MeApi.as_view(), "me"),
    *_with_and_without_slash("password/", apis.PasswordChangeApi.as_view(), "password"),
    *_with_and_without_slash("sessions/", apis.LoginSessionListApi.as_view(), "sessions"),
    *_with_and_without_slash("sessions/<uuid:session_id>/", apis.LoginSessionApi.as_view(), "session"),
    *_with_and_without_slash(".well-known/jwks.json", apis.JwksApi.as_view(), "jwks"),
    *_with_and_without_slash("health/", apis.HealthApi.as_view(), "health"),
]
