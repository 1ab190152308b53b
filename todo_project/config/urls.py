"""The service owns the whole /todos/ prefix, so the gateway passes paths through unchanged."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import errors
from config.routes import read_only_page, with_and_without_slash
from todos.backends import ThrottledAdminLoginForm

# Says so when the login budgets, not the password, refused an operator's login.
admin.site.login_form = ThrottledAdminLoginForm

admin.site.site_header = "Todo service administration"
admin.site.site_title = "Todo service admin"

schema_view = read_only_page(SpectacularAPIView.as_view())
docs_view = read_only_page(SpectacularSwaggerView.as_view(url_name="schema"))

urlpatterns = [
    path("todos/admin", RedirectView.as_view(url="/todos/admin/")),
    path("todos/admin/", admin.site.urls),
    *with_and_without_slash("todos/schema/", schema_view, "schema"),
    *with_and_without_slash("todos/docs/", docs_view, "docs"),
    path("", include("todos.urls")),
]
if settings.BROWSABLE_API:
    # The names the browsable API's "Log in" and "Log out" links look up (todos.browser): names only, since the
    # gateway sends /auth/ to the auth service, whose login sets the browser's cookie for both services.
    browser_links = [
        path("auth/login/", errors.page_not_found, name="login"),
        path("auth/logout/", errors.page_not_found, name="logout"),
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
