"""Jobs, reports, the banned-hashtag list and the audit trail in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from captions.admin.audit import ActionFilter, audit_sentence
from captions.admin.inlines import ReadOnlyInline
from captions.models import BannedHashtag, Generation, ModelCaption, ModerationAction, Report, Suggestion
from captions.services.banned_hashtags import banned_hashtag_clean, banned_hashtag_record
from captions.services.moderation import (
    BANNED_HASHTAG_ADD,
    BANNED_HASHTAG_CHANGE,
    BANNED_HASHTAG_DELETE,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to users with the view permission; nobody adds, edits or deletes here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _photo_link(photo):
    url = reverse("admin:captions_photo_change", args=[quote(photo.pk)])
    return format_html('<a href="{}">{}</a>', url, photo)


class ModelCaptionInline(ReadOnlyInline):
    model = ModelCaption
    fields = ("source", "status", "text", "tags", "score", "model_name", "seconds", "error")
    readonly_fields = fields


class SuggestionInline(ReadOnlyInline):
    model = Suggestion
    fields = ("position", "caption", "hashtags", "refiner", "is_favourite")
    readonly_fields = fields


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "photo_link",
        "owner",
        "status",
        "platform",
        "refiner",
        "banned_hashtags_dropped",
        "created_at",
    )
    list_filter = ("status", "refiner", "platform", "created_at")
    search_fields = ("photo__owner__username", "photo__original_name")
    list_select_related = ("photo__owner",)
    date_hierarchy = "created_at"
    exclude = ("photo",)
    readonly_fields = (
        "photo_link",
        "status",
        "platform",
        "tone",
        "variants",
        "language",
        "sources",
        "refiner",
        "refiner_fallback_reason",
        "banned_hashtags_dropped",
        "error",
        "progress_note",
        "created_at",
        "started_at",
        "stage_started_at",
        "finished_at",
        "timings",
    )
    inlines = (ModelCaptionInline, SuggestionInline)

    @admin.display(description="Photo")
    def photo_link(self, obj: Generation):
        return _photo_link(obj.photo)

    @admin.display(description="Owner", ordering="photo__owner__username")
    def owner(self, obj: Generation) -> str:
        return obj.photo.owner.get_username()


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "photo_link", "reporter", "reason", "note")
    list_filter = ("reason", "created_at")
    search_fields = ("reporter__username", "note", "photo__original_name")
    list_select_related = ("photo", "reporter")
    exclude = ("photo",)
    readonly_fields = ("photo_link", "generation", "reporter", "reason", "note", "created_at")

    @admin.display(description="Photo")
    def photo_link(self, obj: Report):
        return _photo_link(obj.photo)


class BannedHashtagForm(forms.ModelForm):
    class Meta:
        model = BannedHashtag
        fields = ("text", "kind", "note")
        help_texts = {
            "text": (
                "Without '#'. An exact word matches the whole hashtag, ignoring case and underscores. "
                "A pattern is a Python regular expression searched anywhere in the hashtag, ignoring case; "
                "anchor it with ^ and $ to match whole hashtags, "
                "e.g. ^(follow|like)\\d*for\\d*(follow|like)$."
            ),
            "note": "Why it is banned; kept in the audit trail.",
        }

    def clean(self):
        data = super().clean()
        if "text" in data and "kind" in data:
            try:
                data["text"] = banned_hashtag_clean(text=data["text"], kind=data["kind"])
            except ValueError as exc:
                raise ValidationError({"text": str(exc)}) from None
        return data


@admin.register(BannedHashtag)
class BannedHashtagAdmin(admin.ModelAdmin):
    form = BannedHashtagForm
    list_display = ("text", "kind", "note", "created_at")
    list_filter = ("kind",)
    search_fields = ("text", "note")

    # The admin's views write the LogEntry; these add the ModerationAction.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        action = BANNED_HASHTAG_CHANGE if change else BANNED_HASHTAG_ADD
        banned_hashtag_record(item=obj, actor=request.user, action=action)

    def delete_model(self, request, obj):
        banned_hashtag_record(item=obj, actor=request.user, action=BANNED_HASHTAG_DELETE)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for item in queryset:
            banned_hashtag_record(item=item, actor=request.user, action=BANNED_HASHTAG_DELETE)
        super().delete_queryset(request, queryset)


@admin.register(ModerationAction)
class ModerationActionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "summary", "target")
    list_filter = (ActionFilter, "target_type", "created_at")
    search_fields = ("actor__username", "target_repr", "target_id", "reason")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    fields = ("created_at", "summary", "actor", "action", "target", "target_type", "target_id", "reason")
    readonly_fields = fields

    @admin.display(description="What happened")
    def summary(self, obj: ModerationAction) -> str:
        return audit_sentence(obj)

    @admin.display(description="Target", ordering="target_repr")
    def target(self, obj: ModerationAction):
        app_label, _, model_name = obj.target_type.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[quote(obj.target_id)])
        except NoReverseMatch:
            return obj.target_repr
        return format_html('<a href="{}">{}</a>', url, obj.target_repr)
