"""A refusal as one line of text, for a page's message, the admin's or the API's."""


def error_text(exc: Exception) -> str:
    """The refusal's messages, joined: a ValidationError may carry several, while a
    PermissionDenied, a ValueError or a GrantScopeError carries its one text."""
    return " ".join(getattr(exc, "messages", [str(exc)]))
