"""Plain-text email is rendered as text, never escaped for HTML."""

from typing import cast

from django.template import Context
from django.template.backends.django import Template as DjangoBackendTemplate
from django.template.loader import get_template


def plain_text_render(template_name: str, context: dict) -> str:
    """Render a .txt template with autoescaping off.

    Django escapes every variable for HTML, so "Bob's addons" would arrive in a text/plain
    email as "Bob&#x27;s addons". Nothing rendered here is ever shown as HTML.
    """
    # TEMPLATES configures Django's own engine only, whose templates wrap an engine
    # Template (.template) that renders with a Context of our choosing.
    template = cast(DjangoBackendTemplate, get_template(template_name))
    return template.template.render(Context(context, autoescape=False))
