"""Moderators' decisions on accounts: ban and unban, and changes to a user's
AI switch and daily quota. Each writes the audit trail (see moderation.audit_record)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.db import transaction
from django.utils import timezone

from captions.models import AccountStanding, Generation
from captions.services.moderation import (
    STANDING_CHANGE,
    USER_BAN,
    USER_UNBAN,
    audit_record,
    generations_cancel,
    reason_clean,
)

# Session engines whose sessions live in the database and can be listed.
_LISTABLE_SESSION_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def users_ban(*, user_ids: Iterable[int], actor, reason: str) -> int:
    """Deactivate accounts: they cannot log in, their open sessions end and their
    jobs in flight are cancelled. Nobody bans themselves, and only a superuser
    bans a superuser. Returns how many accounts were banned."""
    reason = reason_clean(reason, required=True, what="ban a user")[:300]
    now = timezone.now()
    users = get_user_model().objects.select_for_update().filter(pk__in=list(user_ids), is_active=True)
    users = users.exclude(pk=actor.pk)
    if not actor.is_superuser:
        users = users.exclude(is_superuser=True)
    with transaction.atomic():
        banned = list(users.order_by("pk"))
        ids = [u.pk for u in banned]
        get_user_model().objects.filter(pk__in=ids).update(is_active=False)
        AccountStanding.objects.bulk_create(
            [AccountStanding(user_id=pk, banned_at=now, ban_reason=reason) for pk in ids],
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["banned_at", "ban_reason"],
        )
        generations_cancel(
            generations=Generation.objects.filter(photo__owner_id__in=ids),
            why="Cancelled: the account was suspended.",
        )
        audit_record(actor=actor, action=USER_BAN, targets=banned, reason=reason, message="Banned.")
        user_sessions_delete(user_ids=ids)
    return len(banned)


def users_unban(*, user_ids: Iterable[int], actor, reason: str = "") -> int:
    """Let banned (inactive) accounts log in again."""
    reason = reason_clean(reason, required=False, what="unban a user")
    with transaction.atomic():
        users = list(
            get_user_model()
            .objects.select_for_update()
            .filter(pk__in=list(user_ids), is_active=False)
            .order_by("pk")
        )
        ids = [u.pk for u in users]
        get_user_model().objects.filter(pk__in=ids).update(is_active=True)
        AccountStanding.objects.filter(user_id__in=ids).update(banned_at=None, ban_reason="")
        audit_record(actor=actor, action=USER_UNBAN, targets=users, reason=reason, message="Unbanned.")
    return len(users)


def user_sessions_delete(*, user_ids: Iterable[int]) -> int:
    """End the users' open sessions, where the session engine can list them.

    Not needed to lock a banned user out (an inactive user's session no longer
    authenticates), but without it an unban would bring old sessions back to
    life. The database does not index sessions by user, so this decodes every
    live session: fine for a rare moderator action.
    """
    if settings.SESSION_ENGINE not in _LISTABLE_SESSION_ENGINES:
        return 0
    wanted = {str(pk) for pk in user_ids}
    if not wanted:
        return 0
    store = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
    deleted = 0
    for session in sessions.iterator(chunk_size=500):
        if str(session.get_decoded().get(SESSION_KEY)) in wanted:
            store(session.session_key).delete()
            deleted += 1
    return deleted


def standing_record_change(*, standing: AccountStanding, actor, changed: list[str]) -> None:
    """Audit an edit of a user's AI switch or daily quota made in the admin (whose
    change view writes the LogEntry)."""
    parts = []
    if "ai_enabled" in changed:
        parts.append("AI generation " + ("on" if standing.ai_enabled else "off"))
    if "daily_quota" in changed:
        quota = standing.daily_quota
        parts.append(
            f"daily quota {quota}"
            if quota is not None
            else f"daily quota: site default ({settings.DAILY_GENERATION_QUOTA})"
        )
    if parts:
        summary = "; ".join(parts) + "."
        summary = summary[:1].upper() + summary[1:]
        audit_record(
            actor=actor, action=STANDING_CHANGE, targets=[standing.user], reason=summary, admin_log=False
        )
