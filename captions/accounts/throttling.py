"""Request rate limits: upload, regenerate and report, per user and per address.

They use allauth's limiter (a sliding window in the cache, the rates in ``ACCOUNT_RATE_LIMITS``),
so sign-up, reset and these actions share one mechanism, one idea of the client's address
(``PROXY_COUNT``) and one 429 page. Failed password logins are django-axes' (settings.py).
"""

from __future__ import annotations

from functools import wraps

from allauth.core import ratelimit

AXES_USERNAME_MAX = 255  # axes' own columns


def rate_limited(action: str):
    """Answer a POST with the 429 page once the user or their address went past the action's rate."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            refused = ratelimit.consume_or_429(request, action=action)
            return refused or view(request, *args, **kwargs)

        return wrapped

    return decorator


def axes_username(request, credentials: dict | None) -> str:
    """The name a login attempt is counted under: what was typed, whichever way allauth sent it.

    The login form already refuses overlong values; the cut keeps axes' own columns safe even
    from a path that skips the form.
    """
    credentials = credentials or {}
    typed = credentials.get("username") or credentials.get("email")
    if typed is None:
        typed = request.POST.get("login") or request.POST.get("username") or ""
    return str(typed).strip().lower()[:AXES_USERNAME_MAX]
