"""Where a member's language is chosen (the switcher, sign-up) and read (their emails).

Pages follow the language cookie, then the browser's Accept-Language (LocaleMiddleware).
Emails have no request to read those from, so the language is also kept on the profile:
set by the switcher when a signed-in member uses it, and at sign-up from the page the
member signed up on. A member who never chose one gets the site's default, English.
"""

from allauth.account.signals import user_signed_up
from django.conf import settings
from django.contrib.auth.models import User
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import LANGUAGE_QUERY_PARAMETER, set_language

from access_requests.models import Profile
from access_requests.services.languages import profile_language_set


def _csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """The CSRF middleware's own check, for a view that applies it only sometimes.

    The callback handed to the check is a plain view (not marked csrf_exempt), so the
    check is made; it is never called."""
    view = lambda _: HttpResponse()  # noqa: E731
    return CsrfViewMiddleware(view).process_view(request, view, (), {})


@csrf_exempt
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the cookie, back to ``next``), remembered on the profile.

    Django would also set a language it has translations for but the site does not offer
    (``fr``); only those of LANGUAGES are kept.

    A visitor's switch carries no CSRF token: a token in every public page would make each
    page differ per visitor (a cookie, and bytes that change between two loads of the same
    figures) for a form whose worst forgery sets someone's language cookie. A signed-in
    member's switch also changes their profile, and is checked like every other form.
    """
    if request.user.is_authenticated and (refused := _csrf_refusal(request)):
        return refused
    response = set_language(request)
    language = request.POST.get(LANGUAGE_QUERY_PARAMETER, "")
    if language not in dict(settings.LANGUAGES):
        response.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    elif request.user.is_authenticated:
        profile_language_set(user=request.user, language=language)
    return response


@receiver(user_signed_up, dispatch_uid="access_requests.languages.sign_up_language_record")
def sign_up_language_record(sender, request: HttpRequest, user: User, **kwargs) -> None:
    """The language of the page the member signed up on: the verification email's too."""
    profile_language_set(user=user, language=translation.get_language() or "")


def email_languages(addresses: list[str]) -> dict[str, list[str]]:
    """The addresses grouped by their owner's language, in the order given."""
    chosen = dict(
        Profile.objects.filter(user__email__in=addresses)
        .exclude(language="")
        .values_list("user__email", "language")
    )
    groups: dict[str, list[str]] = {}
    for address in addresses:
        groups.setdefault(chosen.get(address) or settings.LANGUAGE_CODE, []).append(address)
    return groups
