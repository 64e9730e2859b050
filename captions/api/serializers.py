"""What the API reads and writes. Input is checked by the same Django forms as the
pages (captions.forms), so the rules and the messages are the same; the input
serializers here describe those forms in the OpenAPI schema."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from captions import platforms
from captions.backends.base import Suggestion as SuggestionData
from captions.forms import GenerationOptionsForm, UploadForm
from captions.models import Generation, ModelCaption, Photo, Source, Suggestion

# The sources a person sees; the safety check is for moderators only.
SHOWN_SOURCES = (Source.BLIP, Source.VIT_GPT2, Source.TAGGER)
SOURCE_STATUSES = ("pending", "ok", "failed")


def _absolute(context: dict, name: str, **kwargs) -> str:
    path = reverse(f"api:{name}", kwargs=kwargs)
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path


# Input (documentation of the forms that check it)


_FORM = GenerationOptionsForm.base_fields


class GenerationOptionsSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(choices=_FORM["platform"].choices, default=_FORM["platform"].initial)
    tone = serializers.ChoiceField(choices=_FORM["tone"].choices, default=_FORM["tone"].initial)
    variants = serializers.IntegerField(
        min_value=_FORM["variants"].min_value,
        max_value=_FORM["variants"].max_value,
        default=_FORM["variants"].initial,
    )
    language = serializers.ChoiceField(choices=_FORM["language"].choices, default=_FORM["language"].initial)


class UploadRequestSerializer(GenerationOptionsSerializer):
    photos = serializers.ListField(
        child=serializers.FileField(),
        min_length=1,
        max_length=settings.UPLOAD_MAX_FILES,
        help_text=f"{UploadForm.base_fields['photos'].help_text} Repeat the field for each file.",
    )


class PhotoFilterSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Search names, captions and hashtags (a leading # is ignored).",
    )
    status = serializers.ChoiceField(
        choices=Generation.Status.choices,
        required=False,
        allow_blank=True,
        help_text="Only photos whose latest job has this status.",
    )


# Output


class JobSummarySerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    options = GenerationOptionsSerializer(source="*", help_text="The options the job runs with.")

    class Meta:
        model = Generation
        fields = ("id", "url", "status", "options", "created_at", "finished_at")

    def get_url(self, job: Generation) -> str:
        return _absolute(self.context, "job", pk=job.pk)


class PhotoSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid")
    url = serializers.SerializerMethodField()
    name = serializers.CharField(source="original_name")
    removed = serializers.BooleanField(source="is_hidden", help_text="Removed by a moderator.")
    removed_reason = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField(help_text="The photo's bytes; null once removed.")
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = (
            "id",
            "url",
            "name",
            "width",
            "height",
            "created_at",
            "removed",
            "removed_reason",
            "image_url",
            "thumbnail_url",
        )

    def get_url(self, photo: Photo) -> str:
        return _absolute(self.context, "photo", uuid=photo.uuid)

    def get_removed_reason(self, photo: Photo) -> str | None:
        return photo.hidden_reason if photo.is_hidden else None

    def get_image_url(self, photo: Photo) -> str | None:
        return None if photo.is_hidden else _absolute(self.context, "photo_image", uuid=photo.uuid)

    def get_thumbnail_url(self, photo: Photo) -> str | None:
        return None if photo.is_hidden else _absolute(self.context, "photo_thumbnail", uuid=photo.uuid)


class PhotoListItemSerializer(PhotoSerializer):
    status = serializers.ChoiceField(
        source="latest_status",
        choices=Generation.Status.choices,
        allow_null=True,
        help_text="The latest job's status; null when the photo has no job.",
    )
    latest_job_url = serializers.SerializerMethodField()

    class Meta(PhotoSerializer.Meta):
        fields = (*PhotoSerializer.Meta.fields, "status", "latest_job_url")

    def get_latest_job_url(self, photo: Photo) -> str | None:
        pk = getattr(photo, "latest_job_id", None)
        return _absolute(self.context, "job", pk=pk) if pk else None


class PhotoDetailSerializer(PhotoSerializer):
    runs = serializers.SerializerMethodField(help_text="Every job run on this photo, newest first.")

    class Meta(PhotoSerializer.Meta):
        fields = (*PhotoSerializer.Meta.fields, "runs")

    @extend_schema_field(JobSummarySerializer(many=True))
    def get_runs(self, photo: Photo) -> list:
        return JobSummarySerializer(self.context["runs"], many=True, context=self.context).data


class TagSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="The everyday tag, e.g. cat.")
    score = serializers.FloatField()
    fine = serializers.CharField(help_text="The classifier's own label, e.g. tabby.")


class SourceResultSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=[(s.value, s.label) for s in SHOWN_SOURCES])
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=SOURCE_STATUSES)
    text = serializers.CharField(allow_null=True, help_text="The caption (caption models).")
    tags = TagSerializer(many=True, help_text="Objects seen (the tagger).")
    model = serializers.CharField(allow_null=True)
    seconds = serializers.FloatField(allow_null=True, help_text="Inference time.")
    error = serializers.CharField(allow_null=True)


class VariantSerializer(serializers.ModelSerializer):
    hashtags = serializers.ListField(child=serializers.CharField())
    post = serializers.SerializerMethodField(help_text="Caption and hashtags as one ready-to-post text.")
    length = serializers.SerializerMethodField(help_text="Characters in post.")
    favourite = serializers.BooleanField(source="is_favourite")
    favourite_url = serializers.SerializerMethodField()

    class Meta:
        model = Suggestion
        fields = (
            "id",
            "position",
            "caption",
            "hashtags",
            "post",
            "length",
            "refiner",
            "favourite",
            "favourite_url",
        )

    def _post(self, suggestion: Suggestion) -> str:
        data = SuggestionData(caption=suggestion.caption, hashtags=tuple(suggestion.hashtags))
        return platforms.compose_post(data, suggestion.generation.platform)

    def get_post(self, suggestion: Suggestion) -> str:
        return self._post(suggestion)

    def get_length(self, suggestion: Suggestion) -> int:
        return len(self._post(suggestion))

    def get_favourite_url(self, suggestion: Suggestion) -> str:
        return _absolute(self.context, "variant_favourite", pk=suggestion.pk)


class JobSerializer(JobSummarySerializer):
    photo_url = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display")
    is_final = serializers.BooleanField(help_text="No more changes will come: stop polling.")
    refiner = serializers.CharField(help_text="openai or offline: what wrote the variants.")
    refiner_fallback_reason = serializers.CharField(help_text="Why the offline writer stood in, if it did.")
    sources = serializers.SerializerMethodField(help_text="Each model's result, with its time.")
    variants = serializers.SerializerMethodField(help_text="The ready-to-post captions.")

    class Meta(JobSummarySerializer.Meta):
        fields = (
            "id",
            "url",
            "photo_url",
            "status",
            "status_label",
            "is_final",
            "error",
            "options",
            "refiner",
            "refiner_fallback_reason",
            "created_at",
            "started_at",
            "finished_at",
            "sources",
            "variants",
        )

    def get_photo_url(self, job: Generation) -> str:
        return _absolute(self.context, "photo", uuid=job.photo.uuid)

    @extend_schema_field(SourceResultSerializer(many=True))
    def get_sources(self, job: Generation) -> list:
        rows = {row.source: row for row in job.model_captions.all()}
        return [_source_result(source, rows.get(source)) for source in SHOWN_SOURCES if source in job.sources]

    @extend_schema_field(VariantSerializer(many=True))
    def get_variants(self, job: Generation) -> list:
        suggestions = list(job.suggestions.all())
        for suggestion in suggestions:
            suggestion.generation = job
        return VariantSerializer(suggestions, many=True, context=self.context).data


def _source_result(source: Source, row: ModelCaption | None) -> dict:
    if row is None:
        return {
            "source": source.value, "label": source.label, "status": "pending", "text": None,
            "tags": [], "model": None, "seconds": None, "error": None,
        }  # fmt: skip
    ok = row.status == ModelCaption.Status.OK
    return {
        "source": source.value,
        "label": source.label,
        "status": row.status,
        "text": row.text if ok and source != Source.TAGGER else None,
        "tags": row.tags if ok and source == Source.TAGGER else [],
        "model": row.model_name or None,
        "seconds": row.seconds,
        "error": row.error or None,
    }


class UploadedPhotoSerializer(PhotoSerializer):
    duplicate = serializers.SerializerMethodField(
        help_text="You had uploaded these exact bytes before: this is that photo, with its latest job."
    )
    job = serializers.SerializerMethodField()

    class Meta(PhotoSerializer.Meta):
        fields = (*PhotoSerializer.Meta.fields, "duplicate", "job")

    def get_duplicate(self, photo: Photo) -> bool:
        return photo.pk in self.context["duplicate_ids"]

    @extend_schema_field(JobSummarySerializer(allow_null=True))
    def get_job(self, photo: Photo) -> dict | None:
        job = self.context["jobs"].get(photo.pk)
        return JobSummarySerializer(job, context=self.context).data if job else None


class RejectedFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    detail = serializers.CharField()


class UploadResponseSerializer(serializers.Serializer):
    photos = UploadedPhotoSerializer(many=True)
    rejected = RejectedFileSerializer(many=True, help_text="Files refused, each with the reason.")
    notice = serializers.CharField(
        allow_null=True, help_text="Set when the photos were saved but not started."
    )


class QuotaSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Generations allowed in any 24 hours.")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    next_free_at = serializers.DateTimeField(
        allow_null=True, help_text="When one more generation fits again, if none remains now."
    )


class TokenInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    ai_enabled = serializers.BooleanField(help_text="False when staff turned generation off for you.")
    quota = QuotaSerializer()
    token = TokenInfoSerializer(allow_null=True, help_text="The token this request used, if any.")
