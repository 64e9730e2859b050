from __future__ import annotations

from functools import wraps

from allauth.account.decorators import verified_email_required
from django.conf import settings


def email_verified_when_mandatory(view):
    """With mandatory email verification, model work waits for a confirmed address.

    Login already waits for it then; this also covers sessions older than the setting and
    accounts made by hand. The page asks the person to confirm, and a fresh link is mailed.
    """
    gated = verified_email_required(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory":
            return gated(request, *args, **kwargs)
        return view(request, *args, **kwargs)

    return wrapped
