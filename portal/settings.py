"""The portal's one settings module, read from the environment.

Every variable is documented in the configuration table of README.md. Without
DATABASE_URL and REDIS_URL the portal runs on the embedded development default
(SQLite, Celery tasks executed in-process); production sets both.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG=1.")
    SECRET_KEY = "insecure-development-only-key"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
SITE_NAME = envstr("SITE_NAME", "KubeVela telemetry portal")
PUBLIC_BASE_URL = envstr("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",  # django.contrib.admin, signing staff in through allauth
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.mfa",
    "axes",
    "portal",
    "ingest",
    "access_requests",
]

# The receiving endpoints and the health checks go through a lean stack (see
# portal/wsgi.py): they are the hot path and need no session, CSRF, auth or page headers.
LEAN_PATHS = ("/collecting", "/api/v1/reports", "/healthz", "/readyz")
# POSTs to these skip Django's handler altogether (ingest/receiver.py); every other
# request to them goes through the lean stack.
RECEIVER_PATHS = ("/collecting", "/api/v1/reports")
# The Prometheus endpoint goes through a bare stack (portal/wsgi.py): only the address is
# forgotten. Prometheus scrapes each process by its own address (a pod IP, 127.0.0.1), so
# the Host is not one of ALLOWED_HOSTS; the endpoint builds no URL and is never cached.
METRICS_PATHS = ("/metrics",)
METRICS_MIDDLEWARE = ["portal.middleware.ForgetClientAddressMiddleware"]
LEAN_MIDDLEWARE = [
    "portal.middleware.ForgetClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
]
MIDDLEWARE = [
    "portal.middleware.ForgetClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session, before CommonMiddleware: the language cookie, then Accept-Language;
    # the data API is always English.
    "portal.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:  # unknown scheme or malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery ------------------------------------------------------
REDIS_URL = envstr("REDIS_URL", "") or ""
# The cache may have a Redis of its own (allkeys-lru, no persistence) beside the broker's
# (noeviction, appendonly): see docs/deploy.md. Unset, it shares REDIS_URL.
CACHE_URL = envstr("CACHE_URL", "") or REDIS_URL
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "portal",
            # A dead or unreachable Redis must cost a request milliseconds, not minutes.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 3600, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Beat's scheduler (portal/celery.py) touches BEAT_HEARTBEAT_FILE after each pass of its
# loop, which passes at least this often whatever the schedule: the file's age is beat's
# liveness (deploy/kubernetes/beat.yaml). Unset, no file is written.
CELERY_BEAT_SCHEDULER = "portal.celery:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 60
BEAT_HEARTBEAT_FILE = envstr("BEAT_HEARTBEAT_FILE", "") or ""
CELERY_BEAT_SCHEDULE = {
    "exports-sweep": {"task": "access_requests.tasks.exports_sweep", "schedule": 60},
    "exports-expire": {"task": "access_requests.tasks.exports_expire_due", "schedule": 60 * 60},
    # Grantees are emailed 14 and 3 days before their grant ends; hourly keeps the
    # reminder within an hour of its time, and each is sent once.
    "access-grant-reminders": {
        "task": "access_requests.tasks.grant_reminders_send",
        "schedule": 60 * 60,
    },
    "access-review-digest": {
        "task": "access_requests.tasks.review_digest_send",
        "schedule": 24 * 60 * 60,
    },
    "ingest-rollup-recent-days": {
        "task": "ingest.tasks.rollup_recent_days",
        "schedule": 60 * 60,
    },
    "ingest-purge-expired-reports": {
        "task": "ingest.tasks.reports_purge_expired",
        "schedule": 24 * 60 * 60,
    },
}

# --- Telemetry rules ----------------------------------------------------------------
REPORT_RETENTION_DAYS = envint("REPORT_RETENTION_DAYS", 365, minimum=1)
INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY = envint(
    "INGEST_MAX_REPORTS_PER_INSTALLATION_PER_DAY", 48, minimum=1
)
INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE = envint(
    "INGEST_GLOBAL_MAX_REPORTS_PER_MINUTE", 120_000, minimum=1
)
INGEST_CEILING_BATCH = envint("INGEST_CEILING_BATCH", 50, minimum=1)
INGEST_DRIFT_FLUSH_SECONDS = envint("INGEST_DRIFT_FLUSH_SECONDS", 10, minimum=0)
# Client drift keeps at most this many distinct discarded names a day; the rest are
# counted in one "(other names)" row (ingest/drift.py).
INGEST_DRIFT_MAX_NAMES_PER_DAY = envint("INGEST_DRIFT_MAX_NAMES_PER_DAY", 1000, minimum=1)
INGEST_POLICY_CACHE_SECONDS = envint("INGEST_POLICY_CACHE_SECONDS", 5, minimum=0)
# Group commit (PostgreSQL): each process writes its waiting reports in one statement.
INGEST_GROUP_COMMIT = envbool("INGEST_GROUP_COMMIT", True)
INGEST_GROUP_COMMIT_MAX_REPORTS = envint("INGEST_GROUP_COMMIT_MAX_REPORTS", 64, minimum=1)
INGEST_GROUP_COMMIT_WAIT_MS = envint("INGEST_GROUP_COMMIT_WAIT_MS", 0, minimum=0)
INGEST_GROUP_COMMIT_TIMEOUT_MS = envint("INGEST_GROUP_COMMIT_TIMEOUT_MS", 10_000, minimum=1)
# The batch statement is prepared on the server once per committer connection; turn it
# off behind a pooler in transaction mode that cannot keep prepared statements
# (PgBouncer before 1.21, or without max_prepared_statements).
INGEST_GROUP_COMMIT_PREPARE = envbool("INGEST_GROUP_COMMIT_PREPARE", True)
# The display floor of public figures: a range average below it is not listed.
STATS_MIN_INSTALLATIONS = envint("STATS_MIN_INSTALLATIONS", 10, minimum=2)
# A UTC day's public figures are released once, this many hours after the day ends.
STATS_RELEASE_DELAY_HOURS = envint("STATS_RELEASE_DELAY_HOURS", 2, minimum=1)
# The hourly task releases the closed days of this many last days that are not released.
STATS_RELEASE_CATCH_UP_DAYS = envint("STATS_RELEASE_CATCH_UP_DAYS", 7, minimum=1)
TELEMETRY_ENDPOINT_HOST = envstr("TELEMETRY_ENDPOINT_HOST", "telemetry.kubevela.net")
# VelaUX v1.1-v1.2 post the same path to another host; blank when it is not served here.
TELEMETRY_LEGACY_HOST = envstr("TELEMETRY_LEGACY_HOST", "user.kubevela.net")

# --- Accounts (django-allauth) -------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked account before any check
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
# allauth's email subjects begin with "[SITE_NAME] " (portal.auth.AccountAdapter).
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
# Links in allauth's emails (reset, verification) are built from PUBLIC_BASE_URL, never
# from the request's Host (portal.auth.AccountAdapter).
ACCOUNT_ADAPTER = "portal.auth.AccountAdapter"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = urlsplit(PUBLIC_BASE_URL).scheme
# A completed reset proves control of the address: it lifts the sign-in lock and signs in.
ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
# Following the verification link signs the new member in, in the browser that signed up:
# allauth signs in only when that browser's session holds the sign-up (another browser
# gets the address verified and the sign-in page; see docs/security.md).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# A reset for an address with no account sends nothing (the page says the same either way).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Two-factor authentication (TOTP with recovery codes) for every account; with
# STAFF_REQUIRE_MFA=1 the admin opens for staff only once they have set it up.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
STAFF_REQUIRE_MFA = envbool("STAFF_REQUIRE_MFA", False)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "access-home"
GITHUB_CLIENT_ID = envstr("GITHUB_CLIENT_ID", "") or ""
GITHUB_CLIENT_SECRET = envstr("GITHUB_CLIENT_SECRET", "") or ""
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_ADAPTER = "portal.auth.SocialAccountAdapter"  # unconfigured provider: 404
SOCIALACCOUNT_PROVIDERS = {
    "github": {
        "SCOPE": ["read:user", "user:email"],
        "APPS": [{"client_id": GITHUB_CLIENT_ID, "secret": GITHUB_CLIENT_SECRET}]
        if GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET
        else [],
    }
}
ACCESS_REVIEW_SLA_DAYS = envint("ACCESS_REVIEW_SLA_DAYS", 7, minimum=1)

# --- Login rate limiting (django-axes): by account, never by address ---------------------
# Both the site's sign-in form and the admin's count failures per account (the email or
# username typed, lower-cased). The portal never sees client addresses (see
# ForgetClientAddressMiddleware), and axes is told there is none, so none is stored.
AXES_ENABLED = envbool("LOGIN_LOCKOUT_ENABLED", True)
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
# An attempt made while the account is locked is refused unchecked, neither counted nor
# extending the lock: failures stay bounded (LOGIN_FAILURE_LIMIT per cool-off) and nobody
# can keep the lock on by trying again. A password reset lifts it (portal.auth).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "portal.auth.login_identity"
AXES_CLIENT_IP_CALLABLE = "portal.auth.no_client_address"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are not recorded
AXES_LOCKOUT_TEMPLATE = "portal/login_locked.html"
AXES_SENSITIVE_PARAMETERS = ["password", "password1", "password2", "csrfmiddlewaretoken"]
AXES_VERBOSE = False
# allauth's limits: keyed on the account or the destination address, never on "ip". The
# portal never has the client's address (every request is 0.0.0.0), so an "ip" limit is
# one bucket for the whole site that one client can fill to refuse everyone. Failed
# passwords are counted per account by axes (above); "login_failed" bounds two-factor
# codes per account. Reset and verification emails are limited per destination address.
# Sign-in, sign-up and the reset link have no site-wide ceiling (see docs/security.md).
ACCOUNT_RATE_LIMITS = {
    "login": None,
    "login_failed": "5/5m/key",
    "signup": None,
    "reset_password": "3/15m/key,10/d/key",
    "reset_password_from_key": None,
    "confirm_email": "1/3m/key,10/d/key",
    "request_login_code": "3/m/key",
    "verify_phone": "1/30s/key",
}
MFA_RATE_LIMITS = {"webauthn_login": None}
# axes.W006 asks for the address among the lockout parameters: the portal never has one.
# Its concern, rotating user agents to get fresh counters, does not apply to the database
# handler, which sums an account's failures over every user agent (see the lockout tests).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# --- Auth, i18n, static ----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# English and Simplified Chinese, as VelaUX ships. The admin follows the same choice.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves collected, hashed files (run collectstatic); development and tests
# serve the source folders directly.
STATIC_MANIFEST = envbool("STATIC_MANIFEST", not DEBUG)
# Each backend's OPTIONS hold values of its own types (a bucket name, a Path, flags).
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "media")))
EXPORT_TTL_DAYS = envint("EXPORT_TTL_DAYS", 7, minimum=1)
EXPORT_STALE_SECONDS = envint("EXPORT_STALE_SECONDS", 120, minimum=2)
EXPORT_QUEUED_GRACE_SECONDS = envint("EXPORT_QUEUED_GRACE_SECONDS", 60, minimum=0)
# Quotas (access_requests/quotas.py): what one grant or member may hold at once. Exports
# queued or running per grant (an identical request returns the existing export instead);
# unexpired, unrevoked read tokens per grant (each has its own DATA_API_RATE); open
# requests per member (each one emails every maintainer).
EXPORT_MAX_QUEUED_PER_GRANT = envint("EXPORT_MAX_QUEUED_PER_GRANT", 3, minimum=1)
TOKEN_MAX_ACTIVE_PER_GRANT = envint("TOKEN_MAX_ACTIVE_PER_GRANT", 5, minimum=1)
ACCESS_REQUEST_MAX_OPEN_PER_MEMBER = envint("ACCESS_REQUEST_MAX_OPEN_PER_MEMBER", 3, minimum=1)
EXPORT_S3_BUCKET = envstr("EXPORT_S3_BUCKET", "") or ""
if EXPORT_S3_BUCKET:
    STORAGES["exports"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": EXPORT_S3_BUCKET,
            "endpoint_url": envstr("EXPORT_S3_ENDPOINT_URL") or None,
            "region_name": envstr("EXPORT_S3_REGION") or None,
            "access_key": envstr("EXPORT_S3_ACCESS_KEY_ID") or None,
            "secret_key": envstr("EXPORT_S3_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["exports"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "exports"},
    }

EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "telemetry-portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "") or ""  # or EMAIL_HOST_PASSWORD_FILE
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)  # implicit TLS, usually port 465
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, minimum=1)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")

# --- HTTPS: the production profile (deploy/production.env) sets HTTPS=1 ----------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto. Health checks stay reachable
# over plain HTTP for probes inside the network; everything else is redirected to HTTPS.
HTTPS = envbool("HTTPS", False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("TRUST_X_FORWARDED_PROTO", HTTPS) else None
)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
_public = urlsplit(PUBLIC_BASE_URL)
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [f"{_public.scheme}://{_public.netloc}"])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- CORS: only the two receiving endpoints, any origin, no credentials --------------
CORS_URLS_REGEX = r"^/(collecting|api/v1/reports)/?$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["POST", "OPTIONS"]
CORS_ALLOW_HEADERS = ["content-type"]
CORS_PREFLIGHT_MAX_AGE = 86400

# --- Content Security Policy: the portal's own origin only -------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

DATA_API_RATE = envstr("DATA_API_RATE", "600/min")
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {"data_token": DATA_API_RATE},
    "EXCEPTION_HANDLER": "portal.api.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KubeVela telemetry portal API",
    "DESCRIPTION": "The receiver, the published policy, public statistics, opt-out "
    "erasure, and the data API for approved grantees (Bearer read tokens). What every "
    "field of a daily report holds, its values and how VelaUX sends it, is in the "
    "[data dictionary](/dictionary/).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # Deep links put a link inside each operation's toggle button, which screen readers
    # may not announce (axe-core: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.add_api_conventions_to_schema",
        "ingest.api.schema.add_receiver_to_schema",
    ],
}

# --- Prometheus metrics (portal/metrics.py, docs/metrics.md) -------------------------------
# GET /metrics needs this bearer token (or METRICS_TOKEN_FILE); unset, the endpoint is a 404.
METRICS_TOKEN = envstr("METRICS_TOKEN", "") or ""
# prometheus-client's multiprocess directory, read by the library itself from the
# environment: every gunicorn worker and Celery pool child writes its figures there.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
# Set at all, even empty, it turns the library's multiprocess mode on: it must name a folder.
if "PROMETHEUS_MULTIPROC_DIR" in os.environ and not (
    PROMETHEUS_MULTIPROC_DIR and Path(PROMETHEUS_MULTIPROC_DIR).is_dir()
):
    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR!r} is not a directory; create it "
        "(a tmpfs such as /run/telemetry-portal-metrics) or unset the variable."
    )
# A Celery worker serves its own metrics on this port when set (Kubernetes: 9808).
METRICS_PORT = envint("METRICS_PORT", 0, minimum=0)
if METRICS_PORT > 65535:
    raise ImproperlyConfigured(f"METRICS_PORT={METRICS_PORT} is not a port number.")
if METRICS_PORT and not PROMETHEUS_MULTIPROC_DIR:
    raise ImproperlyConfigured(
        "METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: the worker's pool processes write their "
        "metrics there for the worker's server to read."
    )

# --- Logging: no handler ever sees a client address ------------------------------------
LOG_LEVEL = envstr("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_addresses": {"()": "portal.logging.RedactAddressesFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_addresses"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # At DEBUG, Django logs each query with its parameters: every report's platformID.
        "django.db.backends": {"level": "INFO"},
        # Lockouts are warnings; axes' per-attempt bookkeeping lines are not worth keeping.
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
