"""The service owns the whole /auth/ prefix, so the gateway passes paths through unchanged."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import apis
from accounts.backends import ThrottledAdminLoginForm
from config import errors
from config.routes import read_only_page, with_and_without_slash

# Says so when the login budgets, not the password, refused an operator's login.
admin.site.login_form = ThrottledAdminLoginForm

schema_view = read_only_page(SpectacularAPIView.as_view())
docs_view = read_only_page(SpectacularSwaggerView.as_view(url_name="schema"))

urlpatterns = [
    path("auth/admin", RedirectView.as_view(url="/auth/admin/")),
    path("auth/admin/", admin.site.urls),
    *with_and_without_slash("auth/schema/", schema_view, "schema"),
    *with_and_without_slash("auth/docs/", docs_view, "docs"),
    path("auth/", include("accounts.urls")),
]
if settings.BROWSABLE_API:
    # The names the browsable API's "Log in" and "Log out" links look up (accounts.browser).
    browser_links = [
        path("auth/login/", apis.LoginApi.as_view(), name="login"),
        path("auth/logout/", apis.LogoutApi.as_view(), name="logout"),
    ]
    urlpatterns += [path("", include((browser_links, "rest_framework")))]
urlpatterns += [
    # Last: any other path is a JSON 404 even with DEBUG on, where Django would answer handler404's
    # place with its HTML debug page.
    re_path(r"", errors.page_not_found),
]

handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
