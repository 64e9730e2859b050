"""Who counts as signed in with two factors, for the admin and staff access to photos."""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver
from django.http import HttpRequest

# Set when this session proved a TOTP code by turning two-factor on (allauth records no login step then).
ACTIVATED_SESSION_KEY = "two_factor_activated_for"


def session_used_two_factor(request: HttpRequest) -> bool:
    """True when this session's user passed a second factor (a TOTP or recovery code) in it."""
    user = request.user
    if not user.is_authenticated:
        return False
    if request.session.get(ACTIVATED_SESSION_KEY) == str(user.pk):
        return True
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


def staff_with_two_factor(request: HttpRequest) -> bool:
    """An active staff member in a two-factor session; their permissions decide the rest."""
    user = request.user
    return user.is_active and user.is_staff and session_used_two_factor(request)


@receiver(authenticator_added)
def _remember_activation(sender, request, user, authenticator, **kwargs) -> None:
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        request.session[ACTIVATED_SESSION_KEY] = str(user.pk)
