from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from access_requests import languages
from access_requests import views as access_views
from portal import views

handler404 = "portal.api.not_found"

urlpatterns = [
    path("", include("ingest.urls")),
    path("access/", include("access_requests.urls")),
    path("accounts/profile/", access_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    # Django's set_language (django.conf.urls.i18n), which also keeps a member's choice.
    path("i18n/setlang/", languages.language_set, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/", include("ingest.api.urls")),
    path("api/v1/", include("access_requests.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's initialisation as a script of its own (?script),
    # so the page runs under the site's CSP; its template moves the inline style to a file.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="portal/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
]
