import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property


class Photo(models.Model):
    """One uploaded photo, re-encoded without metadata and stored under a UUID name."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="photos/", max_length=200)
    thumbnail = models.FileField(upload_to="thumbnails/", max_length=200)
    # The photo at VISION_MAX_SIDE, which the vision tasks read; empty for photos stored before it.
    model_copy = models.FileField(upload_to="model_copies/", max_length=200, blank=True)
    original_name = models.CharField(max_length=120, blank=True, help_text="Display text only.")
    sha256 = models.CharField(max_length=64, help_text="Of the uploaded bytes, to spot repeats.")
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField(help_text="Of the stored, re-encoded file.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # Moderation.
    nsfw_score = models.FloatField(null=True, blank=True)
    nsfw_model = models.CharField(max_length=80, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True, help_text="In the review queue since.")
    flag_reasons = models.JSONField(default=list, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["owner", "sha256"], name="photo_unique_per_owner")]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            # The moderation queue: few rows, read oldest flag first.
            models.Index(
                fields=["flagged_at"],
                condition=Q(flagged_at__isnull=False, reviewed_at__isnull=True, hidden_at__isnull=True),
                name="photo_moderation_queue",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name or str(self.uuid)

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Platform(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    X = "x", "X"
    LINKEDIN = "linkedin", "LinkedIn"
    TIKTOK = "tiktok", "TikTok"
    GENERAL = "general", "General"


class Tone(models.TextChoices):
    CASUAL = "casual", "Casual"
    FUNNY = "funny", "Funny"
    PROFESSIONAL = "professional", "Professional"
    INSPIRATIONAL = "inspirational", "Inspirational"
    POETIC = "poetic", "Poetic"


class Generation(models.Model):
    """One run of the pipeline for a photo with one set of options.

    The row is the truth; Celery messages only say "look at job N". Status moves
    forward through conditional UPDATEs (see captions.services.pipeline).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        CAPTIONING = "captioning", "Captioning"
        REFINING = "refining", "Writing hashtags"
        HELD = "held", "Held for review"
        DONE = "done", "Done"
        PARTIAL = "partial", "Partly done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL_STATUSES = (Status.DONE, Status.PARTIAL, Status.FAILED, Status.CANCELLED, Status.HELD)

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="generations")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    platform = models.CharField(max_length=12, choices=Platform.choices, default=Platform.INSTAGRAM)
    tone = models.CharField(max_length=16, choices=Tone.choices, default=Tone.CASUAL)
    variants = models.PositiveSmallIntegerField(default=3)
    language = models.CharField(max_length=35, default="en")
    sources = models.JSONField(default=list, help_text="The sources this job waits for.")
    refiner = models.CharField(max_length=20, blank=True, help_text="The refiner that wrote the suggestions.")
    refiner_fallback_reason = models.TextField(
        blank=True, help_text="Why the offline composer stood in for the LLM."
    )
    banned_hashtags_dropped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    stage_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current step began; the page counts from it."
    )
    progress_note = models.CharField(
        max_length=200, blank=True, help_text="What the current step is waiting for, shown while it waits."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Generation {self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @cached_property
    def results(self) -> dict:
        """Display-ready results for templates (see selectors.generation_results)."""
        from captions.selectors import generation_results

        return generation_results(self)


class Source(models.TextChoices):
    BLIP = "blip", "BLIP"
    VIT_GPT2 = "vit_gpt2", "ViT-GPT2"
    TAGGER = "tagger", "Object tags"
    NSFW = "nsfw", "Safety check"
    PEOPLE = "people", "People"


class ModelCaption(models.Model):
    """What one source produced for one generation: a caption, tags or a score."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="model_captions")
    source = models.CharField(max_length=12, choices=Source.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    model_name = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True, help_text='[{"label", "score", "fine"}]')
    score = models.FloatField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["generation", "source"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "source"], name="model_caption_one_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.text or self.error}"[:80]


class Dispatch(models.Model):
    """One step of one job (a source, or the refine) and the message that carries it.

    The outbox: rows are written in the job's transaction and sent after it commits,
    by the request itself or, when the broker did not answer, by the recovery pass.
    ``sent_at`` empty means waiting to be sent. A worker claims the step before running
    it and keeps ``claimed_until`` in the future with a heartbeat, so a claim that
    lapsed means its worker is gone; a sent, unclaimed step whose message is no longer
    in the broker was lost. See captions.services.dispatch and .recovery.
    """

    REFINE = "refine"

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="dispatches")
    stage = models.CharField(max_length=12, help_text="A source name, or 'refine'.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="Last sent; empty: in the outbox.")
    sends = models.PositiveSmallIntegerField(default=0)
    message_id = models.CharField(max_length=64, blank=True, help_text="The last message's task id.")
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="First seen missing from the broker while unclaimed."
    )
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="Kept ahead by a heartbeat.")
    claims = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started this step.")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["generation", "stage"]
        constraints = [models.UniqueConstraint(fields=["generation", "stage"], name="dispatch_one_per_stage")]
        indexes = [
            models.Index(fields=["sent_at"], condition=Q(done_at__isnull=True), name="dispatch_open"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} of job {self.generation_id}"


class Suggestion(models.Model):
    """One ready-to-post caption with its hashtags."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="suggestions")
    position = models.PositiveSmallIntegerField()
    caption = models.TextField()
    hashtags = models.JSONField(default=list)
    refiner = models.CharField(max_length=20)
    is_favourite = models.BooleanField(default=False)

    class Meta:
        ordering = ["generation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "position"], name="suggestion_position_unique"),
            models.UniqueConstraint(
                fields=["generation"], condition=Q(is_favourite=True), name="suggestion_one_favourite"
            ),
        ]

    def __str__(self) -> str:
        return self.caption[:80]

    @property
    def post_text(self) -> str:
        """Caption and hashtags as they are posted on the run's platform."""
        from captions import platforms
        from captions.backends.base import Suggestion as SuggestionData

        data = SuggestionData(caption=self.caption, hashtags=tuple(self.hashtags))
        return platforms.compose_post(data, self.generation.platform)


class Report(models.Model):
    """An owner's report that a result is wrong or offensive."""

    class Reason(models.TextChoices):
        WRONG = "wrong", "Wrong"
        OFFENSIVE = "offensive", "Offensive"

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="reports")
    generation = models.ForeignKey(Generation, null=True, blank=True, on_delete=models.SET_NULL)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} report on {self.photo}"


class BannedHashtag(models.Model):
    """A hashtag no generated output may carry: an exact word or a regular expression."""

    class Kind(models.TextChoices):
        EXACT = "exact", "Exact word"
        PATTERN = "pattern", "Pattern (regular expression)"

    text = models.CharField(max_length=200, help_text="Without '#'. Exact words match case-insensitively.")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.EXACT)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["text"]
        constraints = [models.UniqueConstraint(fields=["text", "kind"], name="banned_hashtag_unique")]

    def __str__(self) -> str:
        return self.text


class AccountStanding(models.Model):
    """Per-user moderation state: AI switch, quota, ban reason."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="standing")
    ai_enabled = models.BooleanField(default=True, help_text="Off: the user cannot start generations.")
    daily_quota = models.PositiveIntegerField(
        null=True, blank=True, help_text="Generations a day; empty means the site default."
    )
    banned_at = models.DateTimeField(null=True, blank=True)
    ban_reason = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"Standing of {self.user}"


class ModerationAction(models.Model):
    """The audit trail: who did what, to what, when and why."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_repr}"


class ModerationQueueItem(Photo):
    """A photo as the moderation queue shows it; which photos wait there is
    decided by captions.services.moderation.photos_in_queue."""

    class Meta:
        proxy = True
        ordering = ["flagged_at", "id"]
        verbose_name = "moderation queue item"
        verbose_name_plural = "moderation queue"


# --- API: personal access tokens and idempotent requests -----------------------------------------


class PersonalAccessToken(models.Model):
    """A secret a person gives a script to use the API as themselves.

    Only a SHA-256 of the secret is stored: it has 190 random bits, so a slow
    password hash would add nothing but latency. ``prefix`` is the public part
    of the token, used to find the row; see captions.services.tokens.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What the token is for, in its owner's words.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "personal access token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotentRequest(models.Model):
    """An API request made with an ``Idempotency-Key``: while it runs, and then
    the response it got, so a retry with the same key gets that response again
    instead of doing the work twice. See captions.services.idempotency."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="Of the method, path and parameters.")
    created_at = models.DateTimeField(auto_now_add=True)
    locked_at = models.DateTimeField(help_text="When the request holding the key started.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotent_request_key_unique")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.response_status or 'running'})"
