"""The request a view behind ``login_required`` receives, typed for the checker.

``HttpRequest.user`` is a ``User`` or an ``AnonymousUser``; behind ``login_required``
(or a check that redirects anonymous visitors) it is always a signed-in ``User``, which
mypy cannot see from the decorator. Annotating such a view's request with
``AuthenticatedHttpRequest`` says so once, as django-stubs recommends, instead of a
cast at every use. Django still passes its own ``HttpRequest``: this class is never
instantiated.
"""

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    user: User
