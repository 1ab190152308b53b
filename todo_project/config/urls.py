"""The todo service owns /todos/: the API, its admin, schema, docs and static files (whitenoise)."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import errors

admin.site.site_header = "Todo service administration"
admin.site.site_title = "Todo service admin"

urlpatterns = [
    path("todos/admin/", admin.site.urls),
    re_path(r"^todos/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^todos/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("todos.urls")),
]
if settings.BROWSABLE_API:
    # Names only, for the browsable API's "Log in" and "Log out" links: the gateway sends /auth/ to the auth
    # service, whose login sets the browser's cookie for both services (todos.browser).
    urlpatterns += [
        path(
            "",
            include(
                (
                    [
                        path("auth/login/", errors.page_not_found, name="login"),
                        path("auth/logout/", errors.page_not_found, name="logout"),
                    ],
                    "rest_framework",
                )
            ),
        )
    ]
urlpatterns += [
    # Last: any other path is a JSON 404 even with DEBUG on, where Django would answer handler404's
    # place with its HTML debug page.
    re_path(r"", errors.page_not_found),
]

handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
