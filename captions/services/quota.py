"""What a user's daily generation quota looks like now, for the API: how much is
left and when enough of it frees up again (for ``Retry-After``). The quota itself
is enforced by captions.services.generations.generation_check_allowed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from captions.models import AccountStanding, Generation
from captions.services.generations import user_daily_quota

WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class QuotaStatus:
    limit: int
    used: int
    ai_enabled: bool

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def quota_status(*, user) -> QuotaStatus:
    used = Generation.objects.filter(photo__owner=user, created_at__gte=timezone.now() - WINDOW).count()
    ai_enabled = not AccountStanding.objects.filter(user=user, ai_enabled=False).exists()
    return QuotaStatus(limit=user_daily_quota(user=user), used=used, ai_enabled=ai_enabled)


def quota_frees_at(*, user, count: int = 1) -> datetime | None:
    """When ``count`` more generations will fit in the rolling 24 hours, or None if
    they never will (the quota itself is smaller than ``count``)."""
    status = quota_status(user=user)
    if count > status.limit:
        return None
    must_expire = status.used + count - status.limit
    if must_expire <= 0:
        return timezone.now()
    recent = Generation.objects.filter(photo__owner=user, created_at__gte=timezone.now() - WINDOW)
    oldest = recent.order_by("created_at", "id").values_list("created_at", flat=True)
    return oldest[must_expire - 1] + WINDOW


def quota_retry_after(*, user, count: int = 1) -> int | None:
    """Seconds until ``count`` more generations fit, for Retry-After (None: never)."""
    frees_at = quota_frees_at(user=user, count=count)
    if frees_at is None:
        return None
    return max(1, math.ceil((frees_at - timezone.now()).total_seconds()))


def quota_batch_refusal(*, user, count: int) -> str | None:
    """Why a batch of ``count`` photos does not fit in what is left today, in words that say how
    many would; None when it fits. No quota left at all, or AI switched off, is left to
    generation_check_allowed, whose words the API shares."""
    status = quota_status(user=user)
    if not status.ai_enabled or status.remaining == 0 or count <= status.remaining:
        return None
    photos = "photo" if status.remaining == 1 else "photos"
    return (
        f"You have {status.remaining} of {status.limit} generations left today: "
        f"choose at most {status.remaining} {photos} ({count} chosen). Nothing was uploaded."
    )
