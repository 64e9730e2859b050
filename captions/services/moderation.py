"""Moderation: NSFW scores and flags, the review queue, moderators' decisions on
photos, owners' reports, and the audit trail (the banned-hashtag list is in
banned_hashtags.py).

Every moderator decision goes through a function here that takes the acting
user and a reason, changes rows with conditional UPDATEs or under
``select_for_update``, and writes the audit trail (an admin LogEntry and a
ModerationAction per target) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from captions.models import Generation, ModelCaption, ModerationAction, Photo, Report, Source
from captions.services.dispatch import dispatch_refine_enqueue

if TYPE_CHECKING:
    from captions.backends.base import NsfwScorer

# ModerationAction.action values.
PHOTO_HIDE = "photo_hide"
PHOTO_RESTORE = "photo_restore"
PHOTO_REVIEW = "photo_review"
PHOTO_DELETE = "photo_delete"
USER_BAN = "user_ban"
USER_UNBAN = "user_unban"
STANDING_CHANGE = "standing_change"
BANNED_HASHTAG_ADD = "banned_hashtag_add"
BANNED_HASHTAG_CHANGE = "banned_hashtag_change"
BANNED_HASHTAG_DELETE = "banned_hashtag_delete"

MAX_FLAG_REASONS = 20

# In the review queue: flagged (automatically or by the owner's report), neither reviewed since nor hidden.
IN_QUEUE = Q(flagged_at__isnull=False, reviewed_at__isnull=True, hidden_at__isnull=True)


class ReasonRequired(ValueError):
    pass


# Audit -----------------------------------------------------------------------------------


def audit_record(
    *,
    actor,
    action: str,
    targets: Iterable[models.Model],
    reason: str = "",
    message: str = "",
    deletion: bool = False,
    admin_log: bool = True,
) -> None:
    """Who did what to which objects, when and why: one admin LogEntry (shown on
    each object's history page) and one ModerationAction per target. For a
    deletion, call it before deleting. ``admin_log=False`` where the admin's own
    add/change/delete views already wrote the LogEntry."""
    targets = list(targets)
    if not targets:
        return
    if admin_log:
        text = " ".join(part for part in (message, f"Reason: {reason}" if reason else "") if part)
        LogEntry.objects.log_actions(
            user_id=actor.pk,
            queryset=targets,
            action_flag=DELETION if deletion else CHANGE,
            change_message=text or action,
        )
    ModerationAction.objects.bulk_create(
        [
            ModerationAction(
                actor=actor,
                action=action,
                target_type=target._meta.label_lower,
                target_id=str(target.pk),
                target_repr=str(target)[:200],
                reason=reason,
            )
            for target in targets
        ]
    )


def reason_clean(reason: str, *, required: bool, what: str) -> str:
    reason = " ".join(reason.split())
    if required and not reason:
        raise ReasonRequired(f"A reason is required to {what}.")
    return reason


# NSFW scores, flags and the queue --------------------------------------------------------


def nsfw_scorer() -> NsfwScorer:
    from captions.backends.nsfw import load_nsfw_scorer

    return load_nsfw_scorer()


def photos_in_queue() -> QuerySet[Photo]:
    """Photos waiting for a moderator, oldest flag first."""
    return Photo.objects.filter(IN_QUEUE).order_by("flagged_at", "pk")


def photo_flag(*, photo: Photo, reason: str) -> None:
    """Put the photo in the review queue, noting why. A photo already reviewed
    goes back in at the end of the queue; one already waiting keeps its place."""
    now = timezone.now()
    with transaction.atomic():
        current = (
            Photo.objects.select_for_update()
            .only("flagged_at", "reviewed_at", "flag_reasons")
            .get(pk=photo.pk)
        )
        reasons = list(current.flag_reasons)
        if reason not in reasons:
            reasons = [*reasons, reason][-MAX_FLAG_REASONS:]
        requeue = current.flagged_at is None or current.reviewed_at is not None
        Photo.objects.filter(pk=photo.pk).update(
            flagged_at=now if requeue else current.flagged_at,
            flag_reasons=reasons,
            reviewed_at=None,
            reviewed_by=None,
        )


def photo_record_nsfw(*, photo: Photo, score: float, model_name: str) -> None:
    """Store the latest score; at or over the threshold, flag the photo.

    A moderator's review stands for the photo they saw: the stored photo never
    changes, so a photo reviewed after the same model already scored it over
    the threshold is not flagged again each time it is regenerated.
    """
    threshold = settings.NSFW_THRESHOLD
    before = Photo.objects.only("nsfw_score", "nsfw_model", "reviewed_at").get(pk=photo.pk)
    Photo.objects.filter(pk=photo.pk).update(nsfw_score=score, nsfw_model=model_name[:80])
    if score < threshold:
        return
    already_reviewed = (
        before.reviewed_at is not None
        and before.nsfw_model == model_name[:80]
        and before.nsfw_score is not None
        and before.nsfw_score >= threshold
    )
    if not already_reviewed:
        photo_flag(photo=photo, reason=f"NSFW score {score:.2f} (threshold {threshold:.2f})")


def generation_should_hold(*, generation: Generation) -> bool:
    """With NSFW_HOLD on, a photo scored over the threshold is not processed further until reviewed."""
    if not settings.NSFW_HOLD:
        return False
    photo = Photo.objects.only("reviewed_at").get(pk=generation.photo_id)
    if photo.reviewed_at is not None:
        return False
    return generation.model_captions.filter(
        Q(source=Source.NSFW), Q(status=ModelCaption.Status.OK), Q(score__gte=settings.NSFW_THRESHOLD)
    ).exists()


def generations_resume_held(*, photo_ids: Iterable[int]) -> list[int]:
    """Send the held jobs of these photos (unless hidden) on to refining, once
    the transaction commits. A conditional UPDATE per job: a job resumed twice
    is refined once."""
    held = Generation.objects.filter(
        photo_id__in=list(photo_ids), photo__hidden_at__isnull=True, status=Generation.Status.HELD
    ).values_list("pk", flat=True)
    resumed = []
    for pk in list(held):
        with transaction.atomic():
            won = Generation.objects.filter(pk=pk, status=Generation.Status.HELD).update(
                status=Generation.Status.REFINING, error="", finished_at=None, stage_started_at=timezone.now()
            )
            if won:
                resumed.append(pk)
                dispatch_refine_enqueue(generation_id=pk)
    return resumed


def generations_cancel(*, generations: QuerySet[Generation], why: str) -> int:
    """Cancel the jobs still in flight; the pipeline's claims then find nothing to do."""
    return generations.exclude(status__in=Generation.FINAL_STATUSES).update(
        status=Generation.Status.CANCELLED, error=why, finished_at=timezone.now()
    )


# Moderators' decisions on photos ---------------------------------------------------------


def _locked(photo_ids: Iterable[int], **conditions) -> list[Photo]:
    return list(Photo.objects.select_for_update().filter(pk__in=list(photo_ids), **conditions).order_by("pk"))


def photos_hide(*, photo_ids: Iterable[int], actor, reason: str) -> int:
    """Hide photos from their owners (the reason is shown to them) and stop their
    jobs in flight. Returns how many were hidden (already hidden ones are skipped)."""
    reason = reason_clean(reason, required=True, what="hide a photo")[:300]
    now = timezone.now()
    with transaction.atomic():
        photos = _locked(photo_ids, hidden_at__isnull=True)
        Photo.objects.filter(pk__in=[p.pk for p in photos]).update(
            hidden_at=now, hidden_reason=reason, reviewed_at=now, reviewed_by=actor
        )
        generations_cancel(
            generations=Generation.objects.filter(photo__in=photos),
            why="Cancelled: the photo was removed by a moderator.",
        )
        audit_record(actor=actor, action=PHOTO_HIDE, targets=photos, reason=reason, message="Hidden.")
    return len(photos)


def photos_restore(*, photo_ids: Iterable[int], actor, reason: str = "") -> int:
    """Show hidden photos to their owners again; counts as reviewed, so held jobs resume."""
    photo_ids = list(photo_ids)
    reason = reason_clean(reason, required=False, what="restore a photo")
    now = timezone.now()
    with transaction.atomic():
        photos = _locked(photo_ids, hidden_at__isnull=False)
        Photo.objects.filter(pk__in=[p.pk for p in photos]).update(
            hidden_at=None, hidden_reason="", reviewed_at=now, reviewed_by=actor
        )
        audit_record(actor=actor, action=PHOTO_RESTORE, targets=photos, reason=reason, message="Restored.")
        generations_resume_held(photo_ids=photo_ids)
    return len(photos)


def photos_mark_reviewed(*, photo_ids: Iterable[int], actor, reason: str = "") -> int:
    """Take photos off the queue as fine. Their held jobs resume (also for a photo
    already reviewed, in case a job was held while the review was being made)."""
    photo_ids = list(photo_ids)
    reason = reason_clean(reason, required=False, what="mark a photo reviewed")
    now = timezone.now()
    with transaction.atomic():
        photos = _locked(photo_ids, reviewed_at__isnull=True)
        Photo.objects.filter(pk__in=[p.pk for p in photos]).update(reviewed_at=now, reviewed_by=actor)
        audit_record(
            actor=actor, action=PHOTO_REVIEW, targets=photos, reason=reason, message="Marked reviewed."
        )
        generations_resume_held(photo_ids=photo_ids)
    return len(photos)


def photos_delete(*, photo_ids: Iterable[int], actor, reason: str) -> int:
    """Delete photos and their results for good; the files go once committed."""
    reason = reason_clean(reason, required=True, what="delete a photo")
    with transaction.atomic():
        photos = _locked(photo_ids)
        audit_record(
            actor=actor, action=PHOTO_DELETE, targets=photos, reason=reason, message="Deleted.", deletion=True
        )
        Photo.objects.filter(pk__in=[p.pk for p in photos]).delete()
    return len(photos)


# Owners' reports -------------------------------------------------------------------------


def report_create(*, photo: Photo, reporter, reason: str, note: str = "", generation=None) -> Report:
    """An owner reports a result: it goes into the review queue with the reason."""
    note = " ".join(note.split())[:500]
    report = Report.objects.create(
        photo=photo, generation=generation, reporter=reporter, reason=reason, note=note
    )
    label = Report.Reason(reason).label
    photo_flag(
        photo=photo, reason=f"Reported by its owner as {label.lower()}" + (f": {note}" if note else "")
    )
    return report
