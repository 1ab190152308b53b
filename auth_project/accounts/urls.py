"""The auth API's routes: each answers with and without its trailing slash, without a redirect (config.routes)."""

from accounts import apis
from config.routes import with_and_without_slash

app_name = "accounts"
urlpatterns = [
    *with_and_without_slash("register/", apis.RegisterApi.as_view(), "register"),
    *with_and_without_slash("login/", apis.LoginApi.as_view(), "login"),
    *with_and_without_slash("refresh/", apis.RefreshApi.as_view(), "refresh"),
    *with_and_without_slash("logout/", apis.LogoutApi.as_view(), "logout"),
    *with_and_without_slash("me/", apis.MeApi.as_view(), "me"),
    *with_and_without_slash("password/", apis.PasswordChangeApi.as_view(), "password"),
    *with_and_without_slash("sessions/", apis.LoginSessionListApi.as_view(), "sessions"),
    *with_and_without_slash("sessions/<anycase_uuid:session_id>/", apis.LoginSessionApi.as_view(), "session"),
    *with_and_without_slash(".well-known/jwks.json", apis.JwksApi.as_view(), "jwks"),
    *with_and_without_slash("health/", apis.HealthApi.as_view(), "health"),
]
