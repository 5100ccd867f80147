from django.urls import path

from access_requests import views

urlpatterns = [
    path("", views.access_home, name="access-home"),
    path("request/", views.access_request_new, name="access-request-new"),
    path("requests/<int:pk>/", views.access_request_detail, name="access-request-detail"),
    path("requests/<int:pk>/edit/", views.access_request_edit, name="access-request-edit"),
    path(
        "requests/<int:pk>/withdraw/", views.access_request_withdraw, name="access-request-withdraw"
    ),
    path("requests/<int:pk>/answer/", views.access_request_answer, name="access-request-answer"),
    path("register/", views.register, name="access-register"),
    path("grants/<int:pk>/renew/", views.grant_renew, name="access-grant-renew"),
    path("grants/<int:pk>/tokens/", views.token_mint, name="access-token-mint"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="access-token-revoke"),
    path("grants/<int:pk>/exports/", views.export_new, name="access-export-new"),
    path("exports/<int:pk>/download/", views.export_download, name="access-export-download"),
    path("exports/<int:pk>/datasheet/", views.export_datasheet, name="access-export-datasheet"),
]
