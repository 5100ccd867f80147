"""The member's language: what the switcher and sign-up write to the profile."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import translation

from access_requests.models import Profile


def profile_language_set(*, user: User, language: str) -> Profile:
    """Keep the member's language (one of LANGUAGES); their emails are written in it."""
    code = translation.get_supported_language_variant(language)
    with transaction.atomic():
        profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
        if profile.language != code:
            profile.language = code
            profile.save(update_fields=["language"])
    return profile
