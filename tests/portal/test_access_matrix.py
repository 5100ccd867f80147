# ruff: noqa: E501 - the matrix reads as a table, one column per persona
"""Who reaches what: every route of the URLconf against every persona.

The routes are found by walking the URLconf (``get_resolver()``, with the admin, allauth,
the API and the schema views); the expectations are written out below, one row per
route and target, one column per persona. ``test_every_route_has_a_row`` fails for a
route without a row, naming it and the row to add; ``test_every_row_has_a_route`` fails
for a row whose route is gone. Each (row, persona) pair is one test.

The personas, in column order:

=========  =====================================================================
anon       not signed in
unver      uma: signed up, email not verified
appl       alice: verified, one pending request (more information asked), no grant
grant      gina: a NARROW grant (3 of the 4 elements asked for, February 2026 only,
           reports and rollups) with a live read token and a ready export
expir      eddie: a grant that ended yesterday, the token minted from it, an export
revok      rita: an active grant whose only token is revoked
staff      stan: a staff account with no role (no group, no permission)
maint      maria: the ``maintainers`` group
audit      audrey: the ``auditors`` group
super      sam: superuser
=========  =====================================================================

The accounts are those of ``tests/personas.py``; what each owns is built below. bob, who
is none of them, owns "someone else's" objects: a pending request, a grant, a token and an
export. Personas with a token send it as ``Authorization: Bearer`` on every request and are
also signed in (session) for the pages.

The outcomes (checked by ``check_outcome``):

======== ==========================================================================
OK       2xx
MINE     2xx, shows every private item of the persona's own and nobody else's
NARROW   2xx, only the grant's fields and days: rows outside it do not appear
DONE     the action happened (2xx or a redirect not to a login page, no error message)
REFUSED  back to /access/ with an error message; nothing changed
BACK     back to the request's page (/access/requests/<pk>/) with an error message;
         nothing changed
LOGIN    302 to the site's sign-in page      ALOGIN  302 to the admin's sign-in page
TO_x     302/301 to the page named           MOVED   301/302 from an old URL to its new
F403     403                                         place (admin: the change page)
N404     404                                 M405    405
NOAUTH   401 ``not_authenticated``           TOKEXP  401 ``token_expired``
TOKREV   401 ``token_revoked``               U401    401 page (allauth's login error)
VIEW     admin change page, read-only        EDIT    admin change page, with Save
======== ==========================================================================

Every response is also checked for leaks, whatever the expected outcome: no grant's
pseudonym key, token hash, token secret or stored platform ID ever (the admin names
installations by a keyed digest); outside the admin, no private item (pending request,
reviewer's message, token name, export checksum) of anybody but the persona.

The world is built once for the module inside a transaction that is rolled back at the
end; each case runs in its own savepoint of the ordinary ``django_db`` fixture, so what
one case changes (a withdrawn request, a minted token) is gone for the next.
"""

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from unittest import mock

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import constants as message_levels
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.client import ClientHandler
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from access_requests import export_files, services
from access_requests.models import AccessRequest, DataUseTerms, Export, Grant, ReadToken
from access_requests.services import exports as export_services
from ingest.models import DailyRollup, DiscardedFieldCount, PolicyVersion, Report
from ingest.services import policy_version_draft, stats_release_day
from portal.models import AuditEvent
from tests.access_requests.factories import file_request
from tests.ingest.factories import report_row
from tests.personas import persona_create
from tests.support import LOCAL_FIXTURES

pytestmark = pytest.mark.django_db

PERSONAS = (
    "anonymous",
    "unverified",
    "applicant",
    "grantee",
    "expired",
    "revoked",
    "staff",
    "maintainer",
    "auditor",
    "superuser",
)
USERNAMES = {
    "unverified": "uma",
    "applicant": "alice",
    "grantee": "gina",
    "expired": "eddie",
    "revoked": "rita",
    "staff": "stan",
    "maintainer": "maria",
    "auditor": "audrey",
    "superuser": "sam",
}

# What gina's narrow grant allows, and what she asked for.
ASKED_ELEMENTS = ["enableAddonList", "platformID", "requestTime", "version"]
GRANTED_ELEMENTS = ["platformID", "requestTime", "version"]
GRANTED_FIELDS = ["installation", "date", "release", "git_commit"]
PERIOD = (date(2026, 2, 1), date(2026, 2, 28))
# Reports: two installations on each day; three of the five days are in the period.
REPORT_DAYS = [
    date(2026, 1, 20),
    date(2026, 2, 1),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 3, 1),
]
INSTALLATIONS = ["matrix-install-a", "matrix-install-b"]
ROWS_IN_PERIOD = 6
# Rollups of the release dimension: two of the four days are in the period.
ROLLUP_DAYS = [date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 1)]
ROLLUPS_IN_PERIOD = 2
ERASABLE = "matrix-erasable"


# --- outcomes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    kind: str
    detail: str = ""

    def __repr__(self) -> str:
        return f"{self.kind}{' ' + self.detail if self.detail else ''}"


def TO(path: str) -> Outcome:
    return Outcome("redirect", path)


OK = Outcome("ok")
MINE = Outcome("mine")
NARROW = Outcome("narrowed")
DONE = Outcome("done")
REFUSED = Outcome("refused")
BACK = Outcome("refused", "to the request's page")
LOGIN = Outcome("login")
ALOGIN = Outcome("admin login")
MOVED = Outcome("moved")
F403 = Outcome("403")
N404 = Outcome("404")
M405 = Outcome("405")
NOAUTH = Outcome("401", "not_authenticated")
TOKEXP = Outcome("401", "token_expired")
TOKREV = Outcome("401", "token_revoked")
VIEW = Outcome("view")
EDIT = Outcome("edit")
TO_ACCESS = TO("/access/")
TO_ADMIN = TO("/admin/")
TO_ROOT = TO("/")
TO_POLICY = TO("/policy/")
TO_EMAIL = TO("/accounts/email/")
TO_PASSWORD = TO("/accounts/password/change/")
TO_LOGIN = TO("/accounts/login/")
TO_CODE = TO("/accounts/reauthenticate/code/")
TO_REAUTH = TO("/accounts/reauthenticate/")
U401 = Outcome("401")
GET, POST, DELETE = "get", "post", "delete"

# --- the matrix: pages, the API, allauth and the admin site's own views -------------------
#
# route: the route's name, or its pattern when it has none. target: "" for none,
# "name=ref" pairs for the path's parameters (a ref names an object of the world below,
# anything else is taken as is), then an optional "?query"; or a literal path "/...".

# fmt: off
ROUTES = [
    # route                                  target                        method  anon    unver   appl    grant   expir   revok   staff   maint   audit   super
    ("home",                                 "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("policy-history",                       "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("data-dictionary",                      "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("stats",                                "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("stats-csv",                            "dimension=release",          GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("healthz",                              "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("readyz",                               "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    # Prometheus' scrape: without METRICS_TOKEN (as here) it does not exist; with one, only
    # its bearer gets in, not a read token nor a session (tests/portal/test_metrics.py)
    ("metrics",                              "",                           GET,    N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    # the access process
    # /access/ is an overview: alice's request and the question asked; grants' tokens and exports are on the request's page
    ("access-home",                          "",                           GET,    OK,     MINE,   MINE,   OK,     OK,     OK,     MINE,   MINE,   MINE,   MINE),
    ("access-home",                          "?state=open",                GET,    OK,     OK,     MINE,   OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("access-home",                          "?state=bogus",               GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("access-request-detail",                "pk=alice.request",           GET,    LOGIN,  N404,   MINE,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-detail",                "pk=gina.request",            GET,    LOGIN,  N404,   N404,   MINE,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-detail",                "pk=eddie.request",           GET,    LOGIN,  N404,   N404,   N404,   MINE,   N404,   N404,   N404,   N404,   N404),
    ("access-request-detail",                "pk=bob.request",             GET,    LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-edit",                  "pk=alice.request",           GET,    LOGIN,  N404,   OK,     N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-edit",                  "pk=alice.request",           POST,   LOGIN,  N404,   DONE,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-edit",                  "pk=gina.request",            POST,   LOGIN,  N404,   N404,   BACK,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-edit",                  "pk=bob.request",             POST,   LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-withdraw",              "pk=alice.request",           GET,    LOGIN,  N404,   OK,     N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-withdraw",              "pk=bob.request",             GET,    LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-grant-renew",                   "pk=gina.grant",              GET,    LOGIN,  N404,   N404,   OK,     N404,   N404,   N404,   N404,   N404,   N404),
    ("access-grant-renew",                   "pk=gina.grant",              POST,   LOGIN,  N404,   N404,   DONE,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-grant-renew",                   "pk=eddie.grant",             GET,    LOGIN,  N404,   N404,   N404,   OK,     N404,   N404,   N404,   N404,   N404),
    ("access-grant-renew",                   "pk=old.grant",               GET,    LOGIN,  N404,   N404,   N404,   BACK,   N404,   N404,   N404,   N404,   N404),
    ("access-grant-renew",                   "pk=bob.grant",               GET,    LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-grant-renew",                   "pk=bob.grant",               POST,   LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-register",                      "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("access-request-new",                   "",                           GET,    LOGIN,  TO_EMAIL, OK,   OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("access-request-withdraw",              "pk=alice.request",           POST,   LOGIN,  N404,   DONE,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-withdraw",              "pk=bob.request",             POST,   LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-answer",                "pk=alice.request",           POST,   LOGIN,  N404,   DONE,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-request-answer",                "pk=bob.request",             POST,   LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-token-mint",                    "pk=gina.grant",              POST,   LOGIN,  N404,   N404,   DONE,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-token-mint",                    "pk=eddie.grant",             POST,   LOGIN,  N404,   N404,   N404,   BACK,   N404,   N404,   N404,   N404,   N404),
    ("access-token-mint",                    "pk=gina.grant",              GET,    LOGIN,  M405,   M405,   M405,   M405,   M405,   M405,   M405,   M405,   M405),
    ("access-token-mint",                    "pk=bob.grant",               POST,   LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-token-revoke",                  "pk=gina.token",              POST,   LOGIN,  N404,   N404,   DONE,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-token-revoke",                  "pk=bob.token",               POST,   LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-export-new",                    "pk=gina.grant",              POST,   LOGIN,  N404,   N404,   DONE,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-export-new",                    "pk=eddie.grant",             POST,   LOGIN,  N404,   N404,   N404,   BACK,   N404,   N404,   N404,   N404,   N404),
    ("access-export-new",                    "pk=bob.grant",               POST,   LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-export-download",               "pk=gina.export",             GET,    LOGIN,  N404,   N404,   NARROW, N404,   N404,   N404,   N404,   N404,   N404),
    ("access-export-download",               "pk=eddie.export",            GET,    LOGIN,  N404,   N404,   N404,   BACK,   N404,   N404,   N404,   N404,   N404),
    ("access-export-download",               "pk=bob.export",              GET,    LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("access-export-datasheet",              "pk=gina.export",             GET,    LOGIN,  N404,   N404,   OK,     N404,   N404,   N404,   N404,   N404,   N404),
    ("access-export-datasheet",              "pk=gina.export ?as=md",      GET,    LOGIN,  N404,   N404,   OK,     N404,   N404,   N404,   N404,   N404,   N404),
    ("access-export-datasheet",              "pk=eddie.export",            GET,    LOGIN,  N404,   N404,   N404,   BACK,   N404,   N404,   N404,   N404,   N404),
    ("access-export-datasheet",              "pk=bob.export",              GET,    LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("profile",                              "",                           GET,    LOGIN,  OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    # the language switcher (Django's set_language, keeping a member's choice): anyone
    ("set_language",                         "?next=/policy/",             POST,   TO_POLICY, TO_POLICY, TO_POLICY, TO_POLICY, TO_POLICY, TO_POLICY, TO_POLICY, TO_POLICY, TO_POLICY, TO_POLICY),
    ("set_language",                         "?next=/policy/",             GET,    M405,   M405,   M405,   M405,   M405,   M405,   M405,   M405,   M405,   M405),
    # accounts (django-allauth)
    ("account_login",                        "",                           GET,    OK,     TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS),
    ("account_logout",                       "",                           GET,    TO_ROOT, OK,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_inactive",                     "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_signup",                       "",                           GET,    OK,     TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS),
    ("account_reauthenticate",               "",                           GET,    LOGIN,  OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_request_reauthentication_code", "",                          GET,    LOGIN,  TO("/accounts/reauthenticate/"), OK, OK, OK, OK,   OK,     OK,     OK,     OK),
    ("account_confirm_reauthentication_code", "",                          GET,    LOGIN,  TO_CODE, TO_CODE, TO_CODE, TO_CODE, TO_CODE, TO_CODE, TO_CODE, TO_CODE, TO_CODE),
    ("account_email",                        "",                           GET,    LOGIN,  OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_email_verification_sent",      "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_confirm_email",                "key=uma.confirmation",       GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_change_password",              "",                           GET,    LOGIN,  OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_set_password",                 "",                           GET,    LOGIN,  TO_PASSWORD, TO_PASSWORD, TO_PASSWORD, TO_PASSWORD, TO_PASSWORD, TO_PASSWORD, TO_PASSWORD, TO_PASSWORD, TO_PASSWORD),
    ("account_reset_password",               "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_reset_password_done",          "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_reset_password_from_key",      "uidb36=alice.uid key=bogus-key", GET, OK,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_reset_password_from_key_done", "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("account_confirm_login_code",           "",                           GET,    TO_LOGIN, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS),
    ("socialaccount_login_cancelled",        "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("socialaccount_login_error",            "",                           GET,    U401,   U401,   U401,   U401,   U401,   U401,   U401,   U401,   U401,   U401),
    ("socialaccount_signup",                 "",                           GET,    TO_LOGIN, TO_LOGIN, TO_LOGIN, TO_LOGIN, TO_LOGIN, TO_LOGIN, TO_LOGIN, TO_LOGIN, TO_LOGIN, TO_LOGIN),
    ("socialaccount_connections",            "",                           GET,    LOGIN,  OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("accounts/social/login/cancelled/",     "",                           GET,    MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED),
    ("accounts/social/login/error/",         "",                           GET,    MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED),
    ("accounts/social/signup/",              "",                           GET,    MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED),
    ("accounts/social/connections/",         "",                           GET,    MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED,  MOVED),
    # two-factor authentication (allauth.mfa), offered to every account
    ("mfa_index",                            "",                           GET,    LOGIN,  OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("mfa_authenticate",                     "",                           GET,    TO_LOGIN, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS, TO_ACCESS),
    ("mfa_reauthenticate",                   "",                           GET,    LOGIN,  TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH),
    ("mfa_activate_totp",                    "",                           GET,    LOGIN,  TO("/accounts/2fa/"), TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH),
    ("mfa_deactivate_totp",                  "",                           GET,    LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("mfa_view_recovery_codes",              "",                           GET,    LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("mfa_generate_recovery_codes",          "",                           GET,    LOGIN,  TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH, TO_REAUTH),
    ("mfa_download_recovery_codes",          "",                           GET,    LOGIN,  N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("github_login",                         "",                           GET,    N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    ("github_callback",                      "",                           GET,    N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404,   N404),
    # the receiver and the public API
    ("collecting",                           "",                           POST,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE),
    ("collecting",                           "",                           GET,    M405,   M405,   M405,   M405,   M405,   M405,   M405,   M405,   M405,   M405),
    ("api-reports",                          "",                           POST,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE),
    ("api-installation",                     "platform_id=erasable",       DELETE, DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE,   DONE),
    ("api-policy",                           "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("api-stats",                            "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("api-stats-dimension",                  "dimension=release",          GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("api-schema",                           "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    ("api-docs",                             "",                           GET,    OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK,     OK),
    # the data API: a read token, never a session
    ("api-data-reports",                     "",                           GET,    NOAUTH, NOAUTH, NOAUTH, NARROW, TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-data-reports",                     "?from=2026-01-20",           GET,    NOAUTH, NOAUTH, NOAUTH, F403,   TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-data-rollups",                     "dimension=release",          GET,    NOAUTH, NOAUTH, NOAUTH, NARROW, TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-data-rollups",                     "dimension=addon",            GET,    NOAUTH, NOAUTH, NOAUTH, F403,   TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-exports",                          "",                           POST,   NOAUTH, NOAUTH, NOAUTH, DONE,   TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-exports",                          "",                           GET,    NOAUTH, NOAUTH, NOAUTH, OK,     TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-exports",                          "?page=2",                    GET,    NOAUTH, NOAUTH, NOAUTH, N404,   TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-export",                           "pk=gina.export",             GET,    NOAUTH, NOAUTH, NOAUTH, OK,     TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-export",                           "pk=bob.export",              GET,    NOAUTH, NOAUTH, NOAUTH, N404,   TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-export-download",                  "pk=gina.export",             GET,    NOAUTH, NOAUTH, NOAUTH, NARROW, TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-export-download",                  "pk=bob.export",              GET,    NOAUTH, NOAUTH, NOAUTH, N404,   TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-export-datasheet",                 "pk=gina.export",             GET,    NOAUTH, NOAUTH, NOAUTH, OK,     TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-export-datasheet",                 "pk=gina.export ?as=md",      GET,    NOAUTH, NOAUTH, NOAUTH, OK,     TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    ("api-export-datasheet",                 "pk=bob.export",              GET,    NOAUTH, NOAUTH, NOAUTH, N404,   TOKEXP, TOKREV, NOAUTH, NOAUTH, NOAUTH, NOAUTH),
    # the admin site's own views
    ("admin:index",                          "",                           GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, OK,     OK,     OK,     OK),
    # the admin signs in through the site's sign-in (allauth's secure_admin_login): no form of its own
    ("admin:login",                          "",                           GET,    LOGIN,  F403,   F403,   F403,   F403,   F403,   TO_ADMIN, TO_ADMIN, TO_ADMIN, TO_ADMIN),
    ("admin:logout",                         "",                           POST,   TO_ADMIN, TO_ADMIN, TO_ADMIN, TO_ADMIN, TO_ADMIN, TO_ADMIN, OK, OK,   OK,     OK),
    ("admin:logout",                         "",                           GET,    TO_ADMIN, TO_ADMIN, TO_ADMIN, TO_ADMIN, TO_ADMIN, TO_ADMIN, M405, M405, M405,   M405),
    ("admin:password_change",                "",                           GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, OK,     OK,     OK,     OK),
    ("admin:password_change_done",           "",                           GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, OK,     OK,     OK,     OK),
    ("admin:autocomplete",                   "?app_label=access_requests&model_name=accessrequest&field_name=applicant&term=a",
                                                                           GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   OK,     OK),
    ("admin:jsi18n",                         "",                           GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, OK,     OK,     OK,     OK),
    ("admin:view_on_site",                   "content_type_id=ct.user object_id=alice", GET, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404, N404, N404, N404),
    ("admin:app_list",                       "app_label=auth",             GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404,   N404,   OK,     OK),
    ("admin:app_list",                       "app_label=account",          GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404,   N404,   N404,   OK),
    ("admin:app_list",                       "app_label=socialaccount",    GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404,   N404,   N404,   OK),
    ("admin:app_list",                       "app_label=axes",             GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404,   N404,   N404,   OK),
    ("admin:app_list",                       "app_label=portal",           GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404,   OK,     OK,     OK),
    ("admin:app_list",                       "app_label=ingest",           GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404,   OK,     OK,     OK),
    ("admin:app_list",                       "app_label=access_requests",  GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404,   OK,     OK,     OK),
    ("admin/(?P<url>.*)$",                   "/admin/no-such-page/",       GET,    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, N404,   N404,   N404,   N404),
]

# The admin's model pages, one row per model and view. view: list, add, change, delete,
# history, old (the pre-1.9 object URL that redirects to change), or a custom view's
# pattern. object: the ref of the object in the URL.
ADMIN_VIEWS = {
    "list": "",
    "add": "add/",
    "change": "<path:object_id>/change/",
    "delete": "<path:object_id>/delete/",
    "history": "<path:object_id>/history/",
    "old": "<path:object_id>/",
}
ADMIN = [
    # model                           view                  object           anon    unver   appl    grant   expir   revok   staff   maint   audit   super
    # roles and accounts: superusers manage them; auditors look
    ("auth.group",                    "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   OK,     OK),
    ("auth.group",                    "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("auth.group",                    "change",             "maintainers",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   VIEW,   EDIT),
    ("auth.group",                    "delete",             "maintainers",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("auth.group",                    "history",            "maintainers",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   OK,     OK),
    ("auth.group",                    "old",                "maintainers",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("auth.user",                     "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   OK,     OK),
    ("auth.user",                     "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("auth.user",                     "change",             "alice",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   VIEW,   EDIT),
    ("auth.user",                     "delete",             "alice",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("auth.user",                     "history",            "alice",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   OK,     OK),
    ("auth.user",                     "old",                "alice",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("auth.user",                     "<id>/password/",     "alice",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("account.emailaddress",          "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("account.emailaddress",          "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("account.emailaddress",          "change",             "alice.email",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   EDIT),
    ("account.emailaddress",          "delete",             "alice.email",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("account.emailaddress",          "history",            "alice.email",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("account.emailaddress",          "old",                "alice.email",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # sign-in with GitHub: app secrets and OAuth tokens, superusers only
    ("socialaccount.socialapp",       "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialapp",       "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialapp",       "change",             "social.app",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   EDIT),
    ("socialaccount.socialapp",       "delete",             "social.app",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialapp",       "history",            "social.app",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialapp",       "old",                "social.app",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("socialaccount.socialtoken",     "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialtoken",     "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialtoken",     "change",             "social.token",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   EDIT),
    ("socialaccount.socialtoken",     "delete",             "social.token",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialtoken",     "history",            "social.token",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialtoken",     "old",                "social.token",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("socialaccount.socialaccount",   "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialaccount",   "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialaccount",   "change",             "social.account", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   EDIT),
    ("socialaccount.socialaccount",   "delete",             "social.account", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialaccount",   "history",            "social.account", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("socialaccount.socialaccount",   "old",                "social.account", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # two-factor authenticators: superusers see who has one and may remove a lost one; never its secret
    ("mfa.authenticator",             "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("mfa.authenticator",             "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("mfa.authenticator",             "change",             "mfa.totp",      ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   VIEW),
    ("mfa.authenticator",             "delete",             "mfa.totp",      ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("mfa.authenticator",             "history",            "mfa.totp",      ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("mfa.authenticator",             "old",                "mfa.totp",      ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # sign-in lockouts (django-axes): superusers unlock accounts; nobody adds rows
    ("axes.accessattempt",            "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accessattempt",            "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("axes.accessattempt",            "change",             "axes.attempt",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   EDIT),
    ("axes.accessattempt",            "delete",             "axes.attempt",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accessattempt",            "history",            "axes.attempt",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accessattempt",            "old",                "axes.attempt",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("axes.accesslog",                "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accesslog",                "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("axes.accesslog",                "change",             "axes.log",      ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   EDIT),
    ("axes.accesslog",                "delete",             "axes.log",      ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accesslog",                "history",            "axes.log",      ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accesslog",                "old",                "axes.log",      ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("axes.accessfailurelog",         "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accessfailurelog",         "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("axes.accessfailurelog",         "change",             "axes.failure",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   EDIT),
    ("axes.accessfailurelog",         "delete",             "axes.failure",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accessfailurelog",         "history",            "axes.failure",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("axes.accessfailurelog",         "old",                "axes.failure",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # the audit log: read by maintainers and auditors; nobody adds, edits or deletes
    ("portal.auditevent",             "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("portal.auditevent",             "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("portal.auditevent",             "change",             "event",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("portal.auditevent",             "delete",             "event",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("portal.auditevent",             "history",            "event",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("portal.auditevent",             "old",                "event",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # the policy: maintainers edit drafts (never a published version) and never delete one
    ("ingest.policyversion",          "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("ingest.policyversion",          "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("ingest.policyversion",          "change",             "policy.v1",     ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("ingest.policyversion",          "change",             "policy.draft",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   EDIT,   VIEW,   EDIT),
    ("ingest.policyversion",          "delete",             "policy.v1",     ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("ingest.policyversion",          "delete",             "policy.draft",  ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   OK),
    ("ingest.policyversion",          "history",            "policy.v1",     ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("ingest.policyversion",          "old",                "policy.v1",     ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # stored reports (installations by keyed digest): auditors and superusers only, read-only
    ("ingest.report",                 "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   OK,     OK),
    ("ingest.report",                 "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("ingest.report",                 "change",             "report",        ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   VIEW,   VIEW),
    ("ingest.report",                 "delete",             "report",        ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("ingest.report",                 "history",            "report",        ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   OK,     OK),
    ("ingest.report",                 "old",                "report",        ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # released public statistics beside the exact counts: maintainers and auditors, read-only
    ("ingest.statsrelease",           "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("ingest.statsrelease",           "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("ingest.statsrelease",           "change",             "stats.day",     ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("ingest.statsrelease",           "delete",             "stats.day",     ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("ingest.statsrelease",           "history",            "stats.day",     ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("ingest.statsrelease",           "old",                "stats.day",     ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # client drift (a custom list page)
    ("ingest.discardedfieldcount",    "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("ingest.discardedfieldcount",    "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("ingest.discardedfieldcount",    "change",             "drift",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("ingest.discardedfieldcount",    "delete",             "drift",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("ingest.discardedfieldcount",    "history",            "drift",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("ingest.discardedfieldcount",    "old",                "drift",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    # the review queue: maintainers decide, auditors look; rows are never edited
    ("access_requests.accessrequest", "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.accessrequest", "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.accessrequest", "change",             "alice.request", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("access_requests.accessrequest", "delete",             "alice.request", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.accessrequest", "history",            "alice.request", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.accessrequest", "old",                "alice.request", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("access_requests.accessrequest", "<int:pk>/approve/",  "alice.request", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     F403,   OK),
    ("access_requests.accessrequest", "<int:pk>/reject/",   "alice.request", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     F403,   OK),
    ("access_requests.accessrequest", "<int:pk>/ask-info/", "alice.request", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     F403,   OK),
    ("access_requests.grant",         "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.grant",         "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.grant",         "change",             "gina.grant",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("access_requests.grant",         "delete",             "gina.grant",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.grant",         "history",            "gina.grant",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.grant",         "old",                "gina.grant",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("access_requests.grant",         "<int:pk>/revoke/",   "gina.grant",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     F403,   OK),
    ("access_requests.profile",       "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.profile",       "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.profile",       "change",             "alice.profile", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("access_requests.profile",       "delete",             "alice.profile", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.profile",       "history",            "alice.profile", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.profile",       "old",                "alice.profile", ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("access_requests.datauseterms",  "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.datauseterms",  "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.datauseterms",  "change",             "terms",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("access_requests.datauseterms",  "delete",             "terms",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.datauseterms",  "history",            "terms",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.datauseterms",  "old",                "terms",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("access_requests.readtoken",     "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.readtoken",     "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.readtoken",     "change",             "gina.token",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("access_requests.readtoken",     "delete",             "gina.token",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.readtoken",     "history",            "gina.token",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.readtoken",     "old",                "gina.token",    ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
    ("access_requests.export",        "list",               "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.export",        "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.export",        "change",             "gina.export",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   VIEW,   VIEW,   VIEW),
    ("access_requests.export",        "delete",             "gina.export",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("access_requests.export",        "history",            "gina.export",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   OK,     OK,     OK),
    ("access_requests.export",        "old",                "gina.export",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, MOVED,  MOVED,  MOVED,  MOVED),
]
# The admin's forms, posted (ADMIN_BODIES): a decision is taken by maintainers and
# superusers only, an audit row is never deleted, a role is made by superusers only.
ADMIN_POSTS = [
    # model                           view                  object           anon    unver   appl    grant   expir   revok   staff   maint   audit   super
    ("access_requests.accessrequest", "<int:pk>/reject/",   "bob.request",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   DONE,   F403,   DONE),
    ("access_requests.accessrequest", "<int:pk>/ask-info/", "bob.request",   ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   DONE,   F403,   DONE),
    ("portal.auditevent",             "delete",             "event",         ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   F403),
    ("auth.group",                    "add",                "",              ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, ALOGIN, F403,   F403,   F403,   DONE),
]
# fmt: on

# POST and DELETE bodies; the receiver's is VelaUX's typical report.
REPORT_BODY = json.loads((LOCAL_FIXTURES / "typical-chrome.json").read_text()) | {
    "platformID": "matrix-new-install"
}
# What a member posts to file, edit or renew a request: valid, and unlike alice's open one.
REQUEST_FORM = {
    "purpose": "The matrix's study",
    "justification": "x" * 240,
    "intended_use": "Weekly counts.",
    "publication_plans": "",
    "affiliation": "Example Org",
    "datasets": ["rollups"],
    "elements": ["version"],
    "period_start": "2026-02-01",
    "period_end": "2026-02-28",
    "duration_days": "30",
    "accept_terms": "on",
}
BODIES = {
    "access-request-answer": {"message": "Here is the information you asked for."},
    "access-request-edit": REQUEST_FORM,
    "access-grant-renew": REQUEST_FORM,
    "access-token-mint": {"name": "matrix notebook"},
    # Not csv: gina's ready export is csv of the whole period, and an identical request
    # returns it rather than making a new one.
    "access-export-new": {"format": "jsonl"},
    "api-exports": {"format": "jsonl"},
    "collecting": REPORT_BODY,
    "api-reports": REPORT_BODY,
}
JSON_BODIES = {"api-exports", "collecting", "api-reports"}
ADMIN_BODIES = {
    ("access_requests.accessrequest", "<int:pk>/reject/"): {"reason": "The matrix says no."},
    ("access_requests.accessrequest", "<int:pk>/ask-info/"): {"reason": "Which addons?"},
    ("portal.auditevent", ADMIN_VIEWS["delete"]): {"post": "yes"},
    ("auth.group", ADMIN_VIEWS["add"]): {"name": "matrix role"},
}


def _request_status(kwargs):
    return AccessRequest.objects.get(pk=kwargs["pk"]).status


# For routes that change something: the state DONE must change and any other outcome
# must leave as it was.
EFFECTS = {
    "access-request-withdraw": _request_status,
    "access-request-answer": _request_status,
    "access-request-edit": lambda kwargs: AccessRequest.objects.get(pk=kwargs["pk"]).purpose,
    "access-grant-renew": lambda kwargs: AccessRequest.objects.filter(
        renewal_of=kwargs["pk"]
    ).count(),
    "access-token-mint": lambda kwargs: ReadToken.objects.count(),
    "access-token-revoke": lambda kwargs: ReadToken.objects.get(pk=kwargs["pk"]).revoked_at,
    "access-export-new": lambda kwargs: Export.objects.count(),
    "api-exports": lambda kwargs: Export.objects.count(),
    "collecting": lambda kwargs: Report.objects.count(),
    "api-reports": lambda kwargs: Report.objects.count(),
    "api-installation": lambda kwargs: Report.objects.filter(
        platform_id=kwargs["platform_id"]
    ).count(),
}
ADMIN_EFFECTS = {
    ("access_requests.accessrequest", "<int:pk>/reject/"): _request_status,
    ("access_requests.accessrequest", "<int:pk>/ask-info/"): _request_status,
    ("portal.auditevent", ADMIN_VIEWS["delete"]): lambda kwargs: AuditEvent.objects.filter(
        pk=kwargs["pk"]
    ).exists(),
    ("auth.group", ADMIN_VIEWS["add"]): lambda kwargs: Group.objects.count(),
}


# --- the URLconf, walked ------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern of the URLconf, under the key the matrix knows it by."""

    pattern: str  # the full pattern, as ``resolve(path).route`` gives it
    name: str | None  # with its namespaces, e.g. "admin:index"
    admin_model: str | None = None  # "app.model" for the pages of a ModelAdmin
    admin_view: str | None = None  # the pattern under that ModelAdmin, e.g. "add/"

    @property
    def key(self) -> tuple[str, ...]:
        if self.admin_model is not None:
            return ("admin", self.admin_model, self.admin_view)
        return ("route", self.name or self.pattern)

    def __str__(self) -> str:
        if self.admin_model is not None:
            return f"admin page {self.admin_model} {self.admin_view!r} (/{self.pattern})"
        return f"route {self.name or '(unnamed)'} (/{self.pattern})"


def _join(prefix: str, pattern: str) -> str:
    # As django.urls.resolvers.URLResolver._join_route joins them.
    return prefix + pattern.removeprefix("^") if prefix else pattern


def _model_admin_of(resolver: URLResolver):
    for entry in resolver.url_patterns:
        model_admin = getattr(getattr(entry, "callback", None), "model_admin", None)
        if model_admin is not None:
            return model_admin
    return None


def urlconf_routes(resolver: URLResolver | None = None) -> list[Route]:
    """Every URL pattern reachable from the root URLconf, includes followed."""
    found: list[Route] = []

    def walk(entries, prefix, namespace, model):
        for entry in entries:
            pattern = _join(prefix, str(entry.pattern))
            if isinstance(entry, URLResolver):
                inner = ":".join(filter(None, [namespace, entry.namespace]))
                model_admin = _model_admin_of(entry)
                inner_model = (
                    (model_admin.model._meta.label_lower, pattern)
                    if model_admin is not None
                    else model
                )
                walk(entry.url_patterns, pattern, inner, inner_model)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                if model is not None:
                    label, base = model
                    found.append(Route(pattern, name, label, pattern[len(base) :]))
                else:
                    found.append(Route(pattern, name))

    walk((resolver or get_resolver()).url_patterns, "", None, None)
    return found


# --- the rows, as cases -------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: tuple[str, ...]
    target: str
    method: str
    outcomes: dict

    @property
    def label(self) -> str:
        where = self.key[1] if self.key[0] == "route" else f"admin {self.key[1]} {self.key[2]}"
        return f"{self.method.upper()} {where} {self.target}".strip()


def matrix_rows() -> list[Row]:
    rows = []
    for route, target, method, *outcomes in ROUTES:
        rows.append(
            Row(("route", route), target, method, dict(zip(PERSONAS, outcomes, strict=True)))
        )
    for table, method in ((ADMIN, GET), (ADMIN_POSTS, POST)):
        for model, view, ref, *outcomes in table:
            rows.append(
                Row(
                    ("admin", model, ADMIN_VIEWS.get(view, view)),
                    ref,
                    method,
                    dict(zip(PERSONAS, outcomes, strict=True)),
                )
            )
    return rows


def coverage_problems(routes: list[Route], rows: list[Row]) -> list[str]:
    """A route without a row, or a row without a route: each is one message."""
    by_key = {route.key: route for route in routes}
    listed = {row.key for row in rows}
    problems = []
    for key, route in by_key.items():
        if key in listed:
            continue
        if route.admin_model is not None:
            how = (
                f"add to ADMIN: ({route.admin_model!r}, {route.admin_view!r}, <object ref>, "
                "<one outcome per persona>)"
            )
        else:
            how = (
                f"add to ROUTES: ({route.name or route.pattern!r}, <target>, <method>, "
                "<one outcome per persona>)"
            )
        problems.append(f"{route} has no row in the access matrix; {how}")
    for key in sorted(listed - set(by_key)):
        problems.append(f"the matrix has rows for {key[1:]}, which is no longer in the URLconf")
    return problems


CASES = [
    pytest.param(row, persona, row.outcomes[persona], id=f"{row.label}|{persona}")
    for row in matrix_rows()
    for persona in PERSONAS
]


# --- the world ----------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)  # persona -> user pk
    refs: dict[str, object] = field(default_factory=dict)  # ref -> value in URLs
    tokens: dict[str, str] = field(default_factory=dict)  # persona -> token secret
    private: dict[str, list[str]] = field(default_factory=dict)  # owner -> private items
    secrets: list[str] = field(default_factory=list)  # never in any response
    platform_ids: list[str] = field(default_factory=list)  # never outside the admin


def _marker(owner: str, what: str) -> str:
    return f"private-{what}-of-{owner}-0x5eed"


def _approved(user, maintainer, **narrowing) -> Grant:
    filed = file_request(
        user,
        elements=ASKED_ELEMENTS,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
    )
    return services.access_request_approve(request=filed, reviewer=maintainer, **narrowing)


class _LentConnection:
    """On PostgreSQL the export builder reads through a connection of its own, which
    cannot see the world: it is never committed. Here it is lent the test's connection."""

    def __init__(self, raw):
        self._raw = raw

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def close(self) -> None:
        pass


def _ready_export(grant: Grant, user) -> Export:
    export = export_services.export_request(
        grant=grant, user=user, file_format="csv", first=grant.period_start, last=grant.period_end
    )
    shared = _LentConnection(connection.connection)
    with mock.patch.object(export_files, "_raw_connection", lambda: shared):
        export_services.export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.state == Export.State.READY, export.error
    return export


def build_world() -> World:
    world = World()
    people = {persona: persona_create(username) for persona, username in USERNAMES.items()}
    bob = persona_create("bob")
    maria = people["maintainer"]
    world.users = {persona: user.pk for persona, user in people.items()}
    refs = world.refs

    # Reports on days in and out of gina's period, rollups likewise, one to erase.
    Report.objects.bulk_create(
        [report_row(p, day) for day in REPORT_DAYS for p in INSTALLATIONS]
        + [report_row(ERASABLE, date(2026, 3, 2))]
    )
    DailyRollup.objects.bulk_create(
        DailyRollup(day=day, dimension="release", value="v1.9.4", installations=12)
        for day in ROLLUP_DAYS
    )
    world.platform_ids = [*INSTALLATIONS, ERASABLE]
    refs["erasable"] = ERASABLE
    refs["report"] = Report.objects.filter(platform_id=INSTALLATIONS[0]).first().pk
    refs["stats.day"] = stats_release_day(day=REPORT_DAYS[0]).pk
    refs["drift"] = DiscardedFieldCount.objects.create(
        report_date=date(2026, 2, 2), field_name="screenHeight", count=3
    ).pk

    # alice: a pending request on which a maintainer asked for more information.
    alice = people["applicant"]
    pending = file_request(alice, purpose=_marker("alice", "purpose"))
    services.access_request_ask_info(
        request=pending, reviewer=maria, message=_marker("alice", "question")
    )
    refs["alice.request"] = pending.pk
    refs["alice"] = alice.pk
    refs["alice.uid"] = user_pk_to_url_str(alice)
    refs["alice.email"] = EmailAddress.objects.get(user=alice).pk
    refs["alice.profile"] = services.profile_update(
        user=alice, display_name="Alice", affiliation="Example Org"
    ).pk
    world.private["alice"] = [_marker("alice", "purpose"), _marker("alice", "question")]

    # gina: the narrow grant, a live token, a ready export.
    gina = people["grantee"]
    narrow = _approved(
        gina, maria, elements=GRANTED_ELEMENTS, period_start=PERIOD[0], period_end=PERIOD[1]
    )
    token, world.tokens["grantee"] = services.token_mint(
        grant=narrow, user=gina, name=_marker("gina", "token")
    )
    export = _ready_export(narrow, gina)
    refs.update(
        {
            "gina.grant": narrow.pk,
            "gina.request": narrow.request_id,
            "gina.token": token.pk,
            "gina.export": export.pk,
        }
    )
    world.private["gina"] = [_marker("gina", "token"), export.sha256]

    # eddie: his grant ended yesterday, and the token with it; the export made before.
    eddie = people["expired"]
    ended = _approved(eddie, maria)
    token, world.tokens["expired"] = services.token_mint(
        grant=ended, user=eddie, name=_marker("eddie", "token")
    )
    export = _ready_export(ended, eddie)
    yesterday = timezone.now() - timedelta(days=1)
    Grant.objects.filter(pk=ended.pk).update(expires_at=yesterday)
    ReadToken.objects.filter(pk=token.pk).update(expires_at=yesterday)
    refs.update(
        {"eddie.grant": ended.pk, "eddie.request": ended.request_id, "eddie.export": export.pk}
    )
    # and one that ended long ago, past the window in which a grant may be renewed
    old = _approved(eddie, maria)
    Grant.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=200))
    refs["old.grant"] = old.pk
    world.private["eddie"] = [_marker("eddie", "token"), export.sha256]

    # rita: an active grant whose token she revoked.
    rita = people["revoked"]
    active = _approved(rita, maria)
    token, world.tokens["revoked"] = services.token_mint(
        grant=active, user=rita, name=_marker("rita", "token")
    )
    services.token_revoke(token=token, user=rita)
    world.private["rita"] = [_marker("rita", "token")]

    # bob: someone else's pending request, grant, token and export.
    bobs_pending = file_request(bob, purpose=_marker("bob", "purpose"))
    bobs_grant = _approved(bob, maria)
    token, bob_secret = services.token_mint(
        grant=bobs_grant, user=bob, name=_marker("bob", "token")
    )
    export = _ready_export(bobs_grant, bob)
    refs.update(
        {
            "bob.request": bobs_pending.pk,
            "bob.grant": bobs_grant.pk,
            "bob.token": token.pk,
            "bob.export": export.pk,
        }
    )
    world.private["bob"] = [_marker("bob", "purpose"), _marker("bob", "token"), export.sha256]

    # What must never be shown to anybody.
    world.secrets = [
        *world.tokens.values(),
        bob_secret,
        *ReadToken.objects.values_list("token_hash", flat=True),
        *Grant.objects.values_list("pseudonym_key", flat=True),
    ]

    # The admin's other objects.
    uma = people["unverified"]
    refs["uma.confirmation"] = EmailConfirmationHMAC(
        EmailAddress.objects.create(user=uma, email=uma.email, verified=False, primary=True)
    ).key
    refs["maintainers"] = Group.objects.get(name="maintainers").pk
    refs["ct.user"] = ContentType.objects.get_for_model(get_user_model()).pk
    refs["terms"] = DataUseTerms.objects.get(version=1).pk
    refs["policy.v1"] = PolicyVersion.objects.get(number=1).pk
    refs["policy.draft"] = policy_version_draft(
        source=PolicyVersion.objects.get(number=1), actor=maria
    ).pk
    refs["event"] = AuditEvent.objects.order_by("pk").first().pk
    # Sign-in with GitHub is not configured (no credentials, as in the tests' settings): the
    # app row is another identity provider's, and bob's GitHub account dates from before.
    app = SocialApp.objects.create(
        provider="openid_connect", provider_id="matrix-idp", name="IdP", client_id="id", secret="s"
    )
    account = SocialAccount.objects.create(user=bob, provider="github", uid="4242")
    refs["social.app"] = app.pk
    refs["social.account"] = account.pk
    refs["social.token"] = SocialToken.objects.create(app=None, account=account, token="gho").pk
    # bob's authenticator app and recovery codes: their secrets are never shown, not even
    # to the superusers who may remove them.
    totp_secret = generate_totp_secret()
    refs["mfa.totp"] = TOTP.activate(bob, totp_secret).instance.pk
    codes = RecoveryCodes.activate(bob)
    world.secrets += [totp_secret, codes.instance.data["seed"], *codes.get_unused_codes()]
    refs["axes.attempt"] = AccessAttempt.objects.create(
        username="bob@example.org",
        user_agent="matrix",
        path_info="/accounts/login/",
        failures_since_start=2,
    ).pk
    refs["axes.log"] = AccessLog.objects.create(
        username="bob@example.org", user_agent="matrix", path_info="/accounts/login/"
    ).pk
    refs["axes.failure"] = AccessFailureLog.objects.create(
        username="bob@example.org", user_agent="matrix", path_info="/accounts/login/"
    ).pk
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once, inside a transaction rolled back when the module is done."""
    from django.conf import settings

    media = tmp_path_factory.mktemp("matrix-media")
    storages = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": media / "exports"},
        },
    }
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(MEDIA_ROOT=media, STORAGES=storages, PASSWORD_HASHERS=fast):
        atomic = transaction.atomic()
        with django_db_blocker.unblock():
            atomic.__enter__()
            try:
                built = build_world()
            except BaseException:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
                raise
        try:
            yield built
        finally:
            with django_db_blocker.unblock():
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)


# --- running a case -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def _handler():
    """One request handler for the module: loading the middleware (WhiteNoise indexes every
    static file) costs more than most cases."""
    return ClientHandler(enforce_csrf_checks=False)


@pytest.fixture
def client(_handler):
    """A fresh client (no cookies, no session) on the module's handler."""
    fresh = Client()
    fresh.handler = _handler
    return fresh


@cache
def _routes_by_pattern() -> dict[str, Route]:
    return {route.pattern: route for route in urlconf_routes()}


def _target(row: Row, world: World) -> tuple[str, dict]:
    """The path a row asks for, and its path parameters."""
    if row.key[0] == "admin":
        _, model, view = row.key
        object_id = str(world.refs[row.target]) if row.target else ""
        path = f"/admin/{model.replace('.', '/')}/" + re.sub(r"<[^>]+>", object_id, view)
        return path, {"pk": object_id}
    if row.target.startswith("/"):
        return row.target, {}
    params, _, query = row.target.partition("?")
    kwargs = {}
    for pair in params.split():
        name, _, ref = pair.partition("=")
        kwargs[name] = world.refs.get(ref, ref)
    route = row.key[1]
    path = "/" + route if "/" in route else reverse(route, kwargs=kwargs)
    return path + (f"?{query}" if query else ""), kwargs


def _body(response) -> bytes:
    # A file is read to its end: the test client then closes the response itself.
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _error_messages(response) -> list[str]:
    storage = getattr(response.wsgi_request, "_messages", None)
    if storage is None:
        return []
    return [str(m) for m in storage if m.level >= message_levels.ERROR]


def _in_period(day: str) -> bool:
    return PERIOD[0] <= date.fromisoformat(day) <= PERIOD[1]


def check_narrowed(route: str, response, body: bytes) -> None:
    """Only the grant's fields, only its days, and every row of them."""
    if route == "api-data-reports":
        page = json.loads(body)
        assert page["fields"] == GRANTED_FIELDS
        assert [sorted(row) for row in page["results"]] == [sorted(GRANTED_FIELDS)] * ROWS_IN_PERIOD
        assert all(_in_period(row["date"]) for row in page["results"])
    elif route == "api-data-rollups":
        rows = json.loads(body)["results"]
        assert len(rows) == ROLLUPS_IN_PERIOD
        assert all(_in_period(row["date"]) for row in rows)
    elif route in ("api-export-download", "access-export-download"):
        header, *rows = csv.reader(io.StringIO(body.decode()))
        assert header == GRANTED_FIELDS
        assert len(rows) == ROWS_IN_PERIOD
        assert all(_in_period(row[GRANTED_FIELDS.index("date")]) for row in rows)
    else:
        pytest.fail(f"no narrowing check is written for {route}")


def check_outcome(expected: Outcome, response, body: bytes, path: str, row: Row, owner) -> None:
    status, location = response.status_code, response.headers.get("Location", "")
    errors = _error_messages(response)
    seen = f"got {status} {location} {errors or ''}".strip()
    login = reverse("account_login")
    kind = expected.kind
    if kind in ("ok", "mine", "narrowed"):
        assert 200 <= status < 300, seen
    if kind == "mine":
        text = body.decode()
        missing = [item for item in owner if item not in text]
        assert not missing, f"the persona's own {missing} are not shown"
    elif kind == "narrowed":
        check_narrowed(row.key[1], response, body)
    elif kind == "done":
        assert status < 400, seen
        assert not location.startswith((login, "/admin/login/")), seen
        assert not errors, seen
    elif kind == "refused" and expected.detail:
        assert status == 302 and re.fullmatch(r"/access/requests/\d+/", location), seen
        assert errors, seen
    elif kind == "refused":
        assert (status, location) == (302, "/access/") and errors, seen
    elif kind == "login":
        assert status == 302 and location.startswith(f"{login}?next="), seen
    elif kind == "admin login":
        assert status == 302 and location.startswith("/admin/login/?next="), seen
    elif kind == "redirect":
        assert status in (301, 302) and location.split("?")[0] == expected.detail, seen
    elif kind == "moved":
        assert status in (301, 302), seen
        if path.startswith("/admin/"):
            assert location == f"{path}change/", seen
        else:
            assert location.startswith("/accounts/3rdparty/"), seen
    elif kind in ("403", "404", "405"):
        assert status == int(kind), seen
        if path.startswith("/api/"):
            codes = {"403": "outside_grant", "404": "not_found", "405": "method_not_allowed"}
            assert json.loads(body)["error"] == codes[kind], body
    elif kind == "401":
        assert status == 401, seen
        if expected.detail:  # the data API's refusals, in JSON, with the scheme to use
            assert json.loads(body)["error"] == expected.detail, body
            assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), seen
    elif kind in ("view", "edit"):
        assert status == 200, seen
        assert response.context_data["has_change_permission"] is (kind == "edit"), kind
    elif kind != "ok":
        pytest.fail(f"unknown outcome {expected!r}")


def check_no_leak(persona: str, path: str, body: bytes, world: World) -> None:
    text = body.decode(errors="replace")
    shown = [secret for secret in world.secrets if secret in text]
    assert not shown, "a token secret, token hash or pseudonym key is in the response"
    # Not even the admin shows an installation's ID: it names installations by a digest.
    assert not [p for p in world.platform_ids if p in text], "a platform ID left the server"
    if path.startswith("/admin/"):
        return  # staff see every row there; the rows above decide who is staff
    own = USERNAMES.get(persona)
    foreign = [
        item
        for owner, items in world.private.items()
        if owner != own
        for item in items
        if item in text
    ]
    assert not foreign, f"someone else's private items are shown: {foreign}"


@pytest.mark.slow  # about 2,300 cases
@pytest.mark.parametrize(("row", "persona", "expected"), CASES)
def test_access_matrix(client, world, row, persona, expected):
    path, kwargs = _target(row, world)
    route = _routes_by_pattern()[resolve(path.split("?")[0]).route]
    assert route.key == row.key, f"{path} reaches {route}, not the row's route"
    headers = {}
    if persona != "anonymous":
        client.force_login(get_user_model().objects.get(pk=world.users[persona]))
    if persona in world.tokens:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[persona]}"
    on_route = row.key[0] == "route"
    effect = EFFECTS.get(row.key[1]) if on_route else ADMIN_EFFECTS.get(row.key[1:])
    before = effect(kwargs) if effect else None

    send = getattr(client, row.method)
    data = (BODIES.get(row.key[1]) if on_route else ADMIN_BODIES.get(row.key[1:])) or None
    if row.method == GET:
        data = None
    if data is not None and row.key[1] in JSON_BODIES:
        response = send(path, json.dumps(data), content_type="application/json", **headers)
    elif data is not None:
        response = send(path, data, **headers)
    else:
        response = send(path, **headers)
    body = _body(response)

    check_outcome(
        expected, response, body, path, row, world.private.get(USERNAMES.get(persona), [])
    )
    check_no_leak(persona, path, body, world)
    if effect is not None:
        after = effect(kwargs)
        if expected == DONE:
            assert after != before, "the action reported success but changed nothing"
        else:
            assert after == before, f"{expected!r}, yet the action changed {before!r} to {after!r}"


# --- the matrix against the URLconf ---------------------------------------------------------


def test_every_route_has_a_row():
    problems = coverage_problems(urlconf_routes(), matrix_rows())
    missing = [p for p in problems if "has no row" in p]
    assert not missing, "\n".join(missing)


def test_every_row_has_a_route():
    problems = coverage_problems(urlconf_routes(), matrix_rows())
    stale = [p for p in problems if "no longer in the URLconf" in p]
    assert not stale, "\n".join(stale)


def test_rows_are_unique_and_complete():
    rows = matrix_rows()
    seen = [(row.key, row.target, row.method) for row in rows]
    assert len(seen) == len(set(seen)), "a row is written twice"
    assert all(set(row.outcomes) == set(PERSONAS) for row in rows)
    assert all(isinstance(o, Outcome) for row in rows for o in row.outcomes.values())


def test_a_new_route_or_model_admin_without_a_row_is_reported():
    from django.urls import path
    from django.urls.resolvers import RegexPattern

    from access_requests.models import RequestEvent
    from ingest import pages
    from portal import urls

    site = admin.AdminSite(name="admin")
    site.register(RequestEvent)
    extra = [
        path("access/requests/<int:pk>/share/", pages.home, name="access-request-share"),
        path("admin-two/", site.urls),
    ]
    routes = urlconf_routes(URLResolver(RegexPattern(r"^/"), [*urls.urlpatterns, *extra]))
    missing = [p for p in coverage_problems(routes, matrix_rows()) if "has no row" in p]
    assert missing[0] == (
        "route access-request-share (/access/requests/<int:pk>/share/) has no row in the access "
        "matrix; add to ROUTES: ('access-request-share', <target>, <method>, <one outcome per "
        "persona>)"
    )
    reported = {p.split(" (")[0] for p in missing[1:]}
    assert {
        f"admin page access_requests.requestevent {view!r}" for view in ADMIN_VIEWS.values()
    } <= reported


def test_a_row_whose_route_is_gone_is_reported():
    gone = [
        r
        for r in urlconf_routes()
        if r.name not in ("healthz", "admin:access_requests_grant_revoke")
    ]
    stale = [p for p in coverage_problems(gone, matrix_rows()) if "no longer" in p]
    assert stale == [
        "the matrix has rows for ('access_requests.grant', '<int:pk>/revoke/'), which is no "
        "longer in the URLconf",
        "the matrix has rows for ('healthz',), which is no longer in the URLconf",
    ]
