from django.urls import path

from access_requests.api import views

urlpatterns = [
    path("data/reports", views.DataReportsView.as_view(), name="api-data-reports"),
    path("data/rollups/<str:dimension>", views.DataRollupsView.as_view(), name="api-data-rollups"),
    path("exports", views.ExportsView.as_view(), name="api-exports"),
    path("exports/<int:pk>", views.ExportView.as_view(), name="api-export"),
    path(
        "exports/<int:pk>/download",
        views.ExportDownloadView.as_view(),
        name="api-export-download",
    ),
    path(
        "exports/<int:pk>/datasheet",
        views.ExportDatasheetView.as_view(),
        name="api-export-datasheet",
    ),
]
