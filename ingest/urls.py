"""ingest's public routes outside the API: the transparency, data dictionary and
statistics pages, and VelaUX's receiving path (its twin under /api/v1/ is in
ingest.api.urls)."""

from django.urls import path

from ingest import pages, views

urlpatterns = [
    path("", pages.home, name="home"),
    path("policy/", pages.policy_versions, name="policy-history"),
    path("dictionary/", pages.data_dictionary, name="data-dictionary"),
    path("stats/", pages.statistics, name="stats"),
    path("stats/<str:dimension>.csv", pages.statistics_csv, name="stats-csv"),
    path("collecting", views.collect_report, name="collecting"),
]
