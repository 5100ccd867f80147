from rest_framework.throttling import SimpleRateThrottle


class ReadTokenRateThrottle(SimpleRateThrottle):
    """Per-token request rate; keyed by the token row, never by an address."""

    scope = "data_token"

    def get_cache_key(self, request, view):
        token = request.auth
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"token-{token.pk}"}
