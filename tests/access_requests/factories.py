from datetime import date

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from access_requests import services
from access_requests.models import DataUseTerms

JUSTIFICATION = (
    "We maintain the KubeVela addon catalogue and want to know which addons are enabled "
    "together, so that we can decide which ones to test against each other in CI and which "
    "to deprecate. Daily rollups over the last quarter are enough; results will be a short "
    "public report on the community blog."
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or ():
            self.groups.add(Group.objects.get(name=name))


def file_request(applicant, **overrides):
    fields = dict(
        purpose="Addon co-usage study",
        justification=JUSTIFICATION,
        intended_use="Count addon pairs per week.",
        publication_plans="Blog post",
        affiliation="Example Org",
        datasets=["reports", "rollups"],
        elements=["enableAddonList", "platformID", "version"],
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        duration_days=90,
        terms=DataUseTerms.objects.get(version=1),
    )
    fields.update(overrides)
    return services.access_request_submit(applicant=applicant, **fields)
