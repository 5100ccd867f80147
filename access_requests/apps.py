from django.apps import AppConfig


class AccessRequestsConfig(AppConfig):
    name = "access_requests"
    verbose_name = "Access process"
