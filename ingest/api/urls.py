from django.urls import path

from ingest import views
from ingest.api import views as api_views

urlpatterns = [
    path("policy", api_views.PolicyView.as_view(), name="api-policy"),
    path("reports", views.collect_report, name="api-reports"),
    path(
        "installations/<str:platform_id>",
        api_views.InstallationView.as_view(),
        name="api-installation",
    ),
    path("stats/", api_views.StatsIndexView.as_view(), name="api-stats"),
    path(
        "stats/<str:dimension>", api_views.StatsDimensionView.as_view(), name="api-stats-dimension"
    ),
]
