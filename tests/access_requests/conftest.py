import pytest
from django.contrib.auth.models import Group

from tests.access_requests.factories import UserFactory


def _ensure_roles():
    """Tests that flush the database lose the roles of the data migration; restore them."""
    from importlib import import_module

    from django.contrib.auth.models import Permission

    from access_requests.models import DataUseTerms

    migration = import_module("access_requests.migrations.0002_roles_and_terms")
    if not Group.objects.filter(name="maintainers").exists():
        migration.seed_roles(Group, Permission)
    migration.seed_terms(DataUseTerms)


@pytest.fixture
def applicant(db):
    _ensure_roles()
    return UserFactory(username="alice")


@pytest.fixture
def other_applicant(db):
    _ensure_roles()
    return UserFactory(username="bob")


@pytest.fixture
def unverified(db):
    _ensure_roles()
    return UserFactory(username="uma", verified=False)


@pytest.fixture
def maintainer(db):
    _ensure_roles()
    return UserFactory(username="maria", is_staff=True, groups=["maintainers"])


@pytest.fixture
def auditor(db):
    _ensure_roles()
    return UserFactory(username="audrey", is_staff=True, groups=["auditors"])


@pytest.fixture
def admin_user_persona(db):
    _ensure_roles()
    return UserFactory(username="sam", is_staff=True, is_superuser=True)
