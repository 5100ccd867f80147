"""The page's language as HTML and assistive technology expect it."""

from django import template
from django.utils import translation

register = template.Library()


@register.filter
def language_tag(code: str) -> str:
    """A BCP 47 tag for ``<html lang>``: Django's "zh-hans" is written "zh-Hans"."""
    return translation.to_locale(code).replace("_", "-") if code else "en"
