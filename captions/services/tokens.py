"""Personal access tokens: created and revoked by their owner on the account page,
checked on every API request.

A token reads ``ihg_<prefix>_<secret>``: the prefix finds the row, the secret is
compared with the stored SHA-256 in constant time. The whole token is shown once,
when it is made; afterwards only the prefix is. A token stops working the moment
it is revoked or expires, or its owner is banned or deactivated.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from captions.models import AccountStanding, PersonalAccessToken

TOKEN_SCHEME = "ihg"  # noqa: S105 (a public prefix, like GitHub's ghp_)
EXPIRY_CHOICES = (7, 30, 90, 365)  # Days; None (no expiry) is allowed as well.
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 50

_TOKEN_RE = re.compile(rf"^{TOKEN_SCHEME}_([a-z0-9]{{8}})_([A-Za-z0-9_-]{{32}})$")


class TokenRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def tokens_for_user(*, user) -> QuerySet[PersonalAccessToken]:
    return PersonalAccessToken.objects.filter(user=user).order_by("-created_at", "-id")


def token_create(*, user, name: str, expires_in_days: int | None) -> tuple[PersonalAccessToken, str]:
    """Make a token; returns the row and the full token, which is never stored."""
    name = " ".join((name or "").split())
    if not name:
        raise TokenRefused("Give the token a name, so you know later what it is for.")
    if len(name) > 80:
        raise TokenRefused(f"The name is too long: {len(name)} characters, limit 80.")
    if expires_in_days is not None and expires_in_days not in EXPIRY_CHOICES:
        raise TokenRefused("Choose an expiry of 7, 30, 90 or 365 days, or none.")
    active = tokens_for_user(user=user).filter(token_active_q()).count()
    if active >= MAX_ACTIVE_TOKENS:
        raise TokenRefused(f"You have {active} active tokens, the limit: revoke one you no longer use.")
    now = timezone.now()
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    for _ in range(5):  # A prefix collision is a one-in-a-trillion event; try again if it happens.
        prefix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
        secret = secrets.token_urlsafe(24)  # 32 characters, 192 bits.
        try:
            with transaction.atomic():
                token = PersonalAccessToken.objects.create(
                    user=user, name=name, prefix=prefix, secret_hash=_hash(secret), expires_at=expires_at
                )
        except IntegrityError:
            continue
        return token, f"{TOKEN_SCHEME}_{prefix}_{secret}"
    raise RuntimeError("Could not pick an unused token prefix.")


def token_active_q() -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def token_revoke(*, user, pk: int) -> PersonalAccessToken:
    """Revoke one of the user's tokens; revoking twice keeps the first date.
    Raises PersonalAccessToken.DoesNotExist for another user's token."""
    token = PersonalAccessToken.objects.get(pk=pk, user=user)
    PersonalAccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def token_authenticate(*, raw: str) -> PersonalAccessToken:
    """The token's row, its user loaded, if the token may be used now; else TokenRefused."""
    found = _TOKEN_RE.match(raw or "")
    if not found:
        raise TokenRefused("Invalid token.")
    prefix, secret = found.groups()
    token = PersonalAccessToken.objects.select_related("user").filter(prefix=prefix).first()
    # Compare even when no row matched, so timing does not tell whether a prefix exists.
    expected = token.secret_hash if token else _hash(secrets.token_hex(16))
    if not hmac.compare_digest(expected, _hash(secret)) or token is None:
        raise TokenRefused("Invalid token.")
    now = timezone.now()
    if token.revoked_at:
        raise TokenRefused("This token was revoked.")
    if token.expires_at and token.expires_at <= now:
        raise TokenRefused(f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC.")
    banned = AccountStanding.objects.filter(user=token.user_id, banned_at__isnull=False).exists()
    if banned or not token.user.is_active:
        raise TokenRefused("This account is suspended.")
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        PersonalAccessToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token


TOKEN_REVOKE = "token_revoke"  # noqa: S105 (an audit-trail action name)


def tokens_revoke_by_staff(*, token_ids, actor, reason: str) -> int:
    """A moderator revokes tokens (say, one seen leaked); the audit trail says who and why.
    Returns how many were still active."""
    from captions.services.moderation import audit_record, reason_clean

    reason = reason_clean(reason, required=True, what="revoke a token")[:300]
    with transaction.atomic():
        tokens = list(
            PersonalAccessToken.objects.select_for_update()
            .filter(pk__in=list(token_ids), revoked_at__isnull=True)
            .order_by("pk")
        )
        PersonalAccessToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=timezone.now())
        audit_record(actor=actor, action=TOKEN_REVOKE, targets=tokens, reason=reason, message="Revoked.")
    return len(tokens)
