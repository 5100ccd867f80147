"""The people of the test suite: one name, one role, one definition each.

=======  =======================================================================
alice    applicant: a verified member who files requests
bob      another verified member: owns "someone else's" requests, grants, tokens
uma      signed up, email not verified
gina     a verified member whose request a test approves (the grantee)
eddie    a verified member whose grant a test lets end (expired grant)
rita     a verified member whose read token a test revokes
stan     a staff account with no role (no group, no permission)
maria    maintainer: staff, the ``maintainers`` group
audrey   auditor: staff, the ``auditors`` group
sam      superuser
=======  =======================================================================

A persona is only the account; what it owns (a request, a grant, a token) is made by the
test that needs it, through the services. Every persona signs in with ``PASSWORD`` and
the address ``<name>@example.org``. The root ``conftest.py`` gives the ones most tests
need as fixtures named for their role (``applicant`` is alice, ``maintainer`` maria);
tests that build a world of their own (the access matrix, schemathesis, the browser
tests) call ``persona_create``.
"""

from dataclasses import dataclass

PASSWORD = "correct-horse-battery"  # UserFactory's, so every persona's


@dataclass(frozen=True)
class Persona:
    username: str
    role: str
    verified: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    groups: tuple[str, ...] = ()

    @property
    def email(self) -> str:
        return f"{self.username}@example.org"


PERSONAS = {
    persona.username: persona
    for persona in (
        Persona("alice", "applicant"),
        Persona("bob", "another member"),
        Persona("uma", "unverified member", verified=False),
        Persona("gina", "grantee"),
        Persona("eddie", "member whose grant has ended"),
        Persona("rita", "member whose token is revoked"),
        Persona("stan", "staff without a role", is_staff=True),
        Persona("maria", "maintainer", is_staff=True, groups=("maintainers",)),
        Persona("audrey", "auditor", is_staff=True, groups=("auditors",)),
        Persona("sam", "superuser", is_staff=True, is_superuser=True),
    )
}


def ensure_roles() -> None:
    """Put back the roles and the data-use terms of the data migration.

    Tests that flush the database (``transaction=True``) remove what migrations seeded."""
    from importlib import import_module

    from django.contrib.auth.models import Group, Permission

    from access_requests.models import DataUseTerms

    migration = import_module("access_requests.migrations.0002_roles_and_terms")
    if not Group.objects.filter(name="maintainers").exists():
        migration.seed_roles(Group, Permission)
    migration.seed_terms(DataUseTerms)


def persona_create(username: str):
    """The persona's account, as the registry defines it (its roles restored first)."""
    from tests.access_requests.factories import UserFactory

    persona = PERSONAS[username]
    ensure_roles()
    return UserFactory(
        username=persona.username,
        email=persona.email,
        verified=persona.verified,
        is_staff=persona.is_staff,
        is_superuser=persona.is_superuser,
        groups=list(persona.groups),
    )
