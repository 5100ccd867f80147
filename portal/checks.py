"""Configuration mistakes reported as system checks with stable ids."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def check_embedded_defaults(app_configs, **kwargs):
    problems: list[CheckMessage] = []
    engine = settings.DATABASES["default"]["ENGINE"]
    if not settings.DEBUG and engine.endswith("sqlite3"):
        problems.append(
            Warning(
                "The portal is running on SQLite without DEBUG.",
                hint="Set DATABASE_URL to a PostgreSQL database for production.",
                id="portal.W001",
            )
        )
    if not settings.DEBUG and not settings.REDIS_URL:
        problems.append(
            Warning(
                "REDIS_URL is not set: Celery tasks run inside web requests.",
                hint="Set REDIS_URL and run a Celery worker and beat for production.",
                id="portal.W002",
            )
        )
    if settings.REPORT_RETENTION_DAYS > 3650:
        problems.append(
            Error(
                "REPORT_RETENTION_DAYS is over ten years.",
                hint="The published policy promises a bounded retention period.",
                id="portal.E001",
            )
        )
    return problems


METRICS_TOKEN_MIN_LENGTH = 32


@register(deploy=True)
def check_metrics_token(app_configs, **kwargs):
    """/metrics is reachable by anything that reaches gunicorn: its token must not be
    guessable."""
    token = settings.METRICS_TOKEN
    if token and len(token) < METRICS_TOKEN_MIN_LENGTH:
        return [
            Warning(
                f"METRICS_TOKEN is shorter than {METRICS_TOKEN_MIN_LENGTH} characters.",
                hint='Use python3 -c "import secrets; print(secrets.token_urlsafe(32))".',
                id="portal.W010",
            )
        ]
    return []


# The placeholder every template of deploy/ holds where an operator must fill in a value.
PLACEHOLDER = "CHANGE-ME"


@register(deploy=True)
def check_placeholders(app_configs, **kwargs):
    """A value copied from a template and never filled in (a bucket, a password in a URL)
    would otherwise surface as a failure far from its cause, or not at all."""
    names = sorted(
        name
        for name in dir(settings)
        if name.isupper() and _holds_placeholder(getattr(settings, name, None))
    )
    if not names:
        return []
    return [
        Warning(
            f"Settings still hold the placeholder {PLACEHOLDER}: {', '.join(names)}.",
            hint=(
                f"Replace every {PLACEHOLDER} of the environment (deploy/production.env, the "
                "Kubernetes ConfigMap and Secret) with the real value: docs/deploy.md lists them."
            ),
            id="portal.W011",
        )
    ]


def _holds_placeholder(value, depth: int = 0) -> bool:
    """Whether a setting's value, or any string nested in it, holds the placeholder."""
    if isinstance(value, str):
        return PLACEHOLDER.lower() in value.lower()
    if depth > 5:  # settings nest a few levels at most (DATABASES, STORAGES, LOGGING)
        return False
    if isinstance(value, dict):
        return any(_holds_placeholder(item, depth + 1) for item in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_placeholder(item, depth + 1) for item in value)
    return False
