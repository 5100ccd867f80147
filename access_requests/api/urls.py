from django.urls import path

from access_requests.api import views

urlpatterns = [
    path("reports", views.DataReportsView.as_view(), name="api-data-reports"),
    path("rollups/<str:dimension>", views.DataRollupsView.as_view(), name="api-data-rollups"),
]
