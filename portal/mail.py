"""Plain-text email is rendered as text, never escaped for HTML."""

from django.template import Context
from django.template.loader import get_template


def plain_text_render(template_name: str, context: dict) -> str:
    """Render a .txt template with autoescaping off.

    Django escapes every variable for HTML, so "Bob's addons" would arrive in a text/plain
    email as "Bob&#x27;s addons". Nothing rendered here is ever shown as HTML.
    """
    return get_template(template_name).template.render(Context(context, autoescape=False))
