"""Who counts as signed in with two factors, for the admin and staff access to photos."""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.views import activate_totp as allauth_activate_totp
from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest, HttpResponse

# Set when this session proved a TOTP code by turning two-factor on (allauth records no login step then).
ACTIVATED_SESSION_KEY = "two_factor_activated_for"


def session_used_two_factor(request: HttpRequest) -> bool:
    """True when this session's user passed a second factor (a TOTP or recovery code) in it and
    still has TOTP on."""
    user = request.user
    if not user.is_authenticated:
        return False
    if request.session.get(ACTIVATED_SESSION_KEY) == str(user.pk):
        used = True
    else:
        used = any(record.get("method") == "mfa" for record in get_authentication_records(request, user))
    # Turning TOTP off ends what the session's earlier code was worth.
    return used and _has_totp(user)


def staff_with_two_factor(request: HttpRequest) -> bool:
    """An active staff member in a two-factor session; their permissions decide the rest."""
    user = request.user
    return user.is_active and user.is_staff and session_used_two_factor(request)


def activate_totp(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """allauth's page to turn TOTP on. Turning it on means typing a valid code, so this session
    has then passed the second factor too (allauth records no login step for it)."""
    had_totp = request.user.is_authenticated and _has_totp(request.user)
    response = allauth_activate_totp(request, *args, **kwargs)
    if (
        request.method == "POST"
        and not had_totp
        and request.user.is_authenticated
        and _has_totp(request.user)
    ):
        request.session[ACTIVATED_SESSION_KEY] = str(request.user.pk)
    return response


def _has_totp(user) -> bool:
    return is_mfa_enabled(user, [Authenticator.Type.TOTP])
