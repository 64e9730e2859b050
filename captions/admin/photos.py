"""Photos in the admin, and the moderation queue (the same admin, filtered)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from captions.admin.decisions import Decision, as_action, confirm_with_reason
from captions.admin.filters import HiddenFilter, JobStatusFilter, ModerationFilter
from captions.admin.inlines import ReadOnlyInline
from captions.models import Generation, ModerationQueueItem, Photo, Report
from captions.selectors import latest_generation_value
from captions.services.moderation import (
    IN_QUEUE,
    photos_delete,
    photos_hide,
    photos_mark_reviewed,
    photos_restore,
)

MARK_REVIEWED = Decision(
    name="mark_reviewed",
    label="Mark reviewed",
    description="Mark reviewed: fine as it is, off the queue",
    reason_required=False,
    reason_help="Kept in the audit trail. Jobs held for review go on.",
    permission="change",
    apply=lambda ids, actor, reason: photos_mark_reviewed(photo_ids=ids, actor=actor, reason=reason),
    done="{count} photo{s} marked reviewed.",
)
HIDE = Decision(
    name="hide",
    label="Hide",
    description="Hide from their owners",
    reason_required=True,
    reason_help="Shown to the photo's owner in place of the photo, and kept in the audit trail.",
    permission="change",
    apply=lambda ids, actor, reason: photos_hide(photo_ids=ids, actor=actor, reason=reason),
    done="{count} photo{s} hidden.",
    danger=True,
)
RESTORE = Decision(
    name="restore",
    label="Restore",
    description="Restore hidden photos",
    reason_required=False,
    reason_help="Kept in the audit trail. Restoring counts as reviewed: jobs held for review go on.",
    permission="change",
    apply=lambda ids, actor, reason: photos_restore(photo_ids=ids, actor=actor, reason=reason),
    done="{count} photo{s} restored.",
)
DELETE = Decision(
    name="delete_photos",
    label="Delete",
    description="Delete for good, with their results",
    reason_required=True,
    reason_help="Kept in the audit trail.",
    permission="delete",
    apply=lambda ids, actor, reason: photos_delete(photo_ids=ids, actor=actor, reason=reason),
    done="{count} photo{s} deleted.",
    danger=True,
)
DECISIONS = {d.name: d for d in (MARK_REVIEWED, HIDE, RESTORE, DELETE)}
HISTORY_SHOWN = 10  # jobs shown on a photo's page


def _report_count() -> Coalesce:
    counts = Report.objects.filter(photo=OuterRef("pk")).values("photo").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts[:1], output_field=IntegerField()), 0)


def _user_change_url(user) -> str:
    opts = get_user_model()._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(user.pk)])


class ReportInline(ReadOnlyInline):
    model = Report
    fields = ("created_at", "reason", "note", "reporter", "generation")
    readonly_fields = fields


class GenerationInline(ReadOnlyInline):
    model = Generation
    fields = ("created_at", "status", "platform", "tone", "refiner", "banned_hashtags_dropped", "error")
    readonly_fields = fields
    show_change_link = True
    ordering = ("-created_at", "-id")


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("preview", "name", "owner_link", "created_at", "job_status", "nsfw", "flags")
    list_display_links = ("preview", "name")
    list_filter = (
        ModerationFilter,
        HiddenFilter,
        JobStatusFilter,
        ("owner", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    date_hierarchy = "created_at"
    search_fields = (
        "owner__username",
        "owner__email",
        "original_name",
        "generations__model_captions__text",
        "generations__suggestions__caption",
        "generations__suggestions__hashtags",
    )
    search_help_text = "Owner, file name, caption or #hashtag."
    list_select_related = ("owner",)
    list_per_page = 50
    actions = [as_action(d) for d in (MARK_REVIEWED, HIDE, RESTORE, DELETE)]
    change_form_template = "admin/captions/photo/change_form.html"

    class Media:
        css = {"all": ["css/admin.css"]}

    fieldsets = (
        (None, {"fields": ("large_preview", "owner_link", "original_name", "created_at", "dimensions")}),
        (
            "Moderation",
            {
                "fields": (
                    "flags",
                    "reasons",
                    "flagged_at",
                    "nsfw_score",
                    "nsfw_model",
                    "reviewed_at",
                    "reviewed_by",
                    "hidden_at",
                    "hidden_reason",
                )
            },
        ),
        ("Results", {"fields": ("results",)}),
        ("File", {"classes": ("collapse",), "fields": ("uuid", "content_type", "size_bytes", "sha256")}),
    )
    readonly_fields = (
        "large_preview",
        "owner_link",
        "original_name",
        "created_at",
        "dimensions",
        "flags",
        "reasons",
        "flagged_at",
        "nsfw_score",
        "nsfw_model",
        "reviewed_at",
        "reviewed_by",
        "hidden_at",
        "hidden_reason",
        "results",
        "uuid",
        "content_type",
        "size_bytes",
        "sha256",
    )
    inlines = (ReportInline, GenerationInline)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(latest_status=latest_generation_value("status"), report_count=_report_count())
            .select_related("owner", "reviewed_by")
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting asks for a reason: see DELETE
        return actions

    def has_add_permission(self, request):
        return False  # photos come in through the upload page

    # The admin's own delete page asks no reason: deleting goes through DELETE.
    def delete_view(self, request, object_id, extra_context=None):
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(
            reverse("admin:{}_{}_decide".format(*info), args=[object_id, DELETE.name])
        )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        decide = path(
            "<path:object_id>/decide/<str:decision>/",
            self.admin_site.admin_view(self.decide_view),
            name="{}_{}_decide".format(*info),
        )
        return [decide, *super().get_urls()]

    def decisions_for(self, request, obj: Photo) -> list[Decision]:
        offered = [DELETE] if self.has_delete_permission(request, obj) else []
        if self.has_change_permission(request, obj):
            offered = [RESTORE if obj.is_hidden else HIDE, *offered]
            if obj.reviewed_at is None or obj.generations.filter(status=Generation.Status.HELD).exists():
                offered.insert(0, MARK_REVIEWED)
        return offered

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        extra = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            "decisions": self.decisions_for(request, obj) if obj else [],
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def decide_view(self, request, object_id, decision):
        """One decision on one photo, from the buttons on its page."""
        chosen = DECISIONS.get(decision)
        if chosen is None:
            raise Http404("No such decision.")
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not getattr(self, f"has_{chosen.permission}_permission")(request, obj):
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=obj.pk)
        response = confirm_with_reason(self, request, queryset, chosen, from_changelist=False)
        if response is not None:
            return response
        info = self.opts.app_label, self.opts.model_name
        if self.get_queryset(request).filter(pk=obj.pk).exists():
            return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[quote(obj.pk)]))
        return HttpResponseRedirect(reverse("admin:{}_{}_changelist".format(*info)))

    # Columns and read-only fields ----------------------------------------------------------

    @admin.display(description="Photo")
    def preview(self, obj: Photo):
        # Through the access-checked media view (staff may see any photo), never a public URL.
        thumb = reverse("captions:photo_thumbnail", kwargs={"uuid": obj.uuid})
        return format_html('<img src="{}" alt="" loading="lazy" class="admin-thumb">', thumb)

    @admin.display(description="Photo")
    def large_preview(self, obj: Photo):
        thumb = reverse("captions:photo_thumbnail", kwargs={"uuid": obj.uuid})
        full = reverse("captions:photo_image", kwargs={"uuid": obj.uuid})
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" class="admin-preview"></a>',
            full,
            thumb,
        )

    @admin.display(description="Name", ordering="original_name")
    def name(self, obj: Photo) -> str:
        return str(obj)

    @admin.display(description="Owner", ordering="owner__username")
    def owner_link(self, obj: Photo):
        return format_html('<a href="{}">{}</a>', _user_change_url(obj.owner), obj.owner.get_username())

    @admin.display(description="Job status", ordering="latest_status")
    def job_status(self, obj: Photo) -> str:
        status = getattr(obj, "latest_status", None)
        return Generation.Status(status).label if status else "No job"

    @admin.display(description="NSFW", ordering="nsfw_score")
    def nsfw(self, obj: Photo) -> str:
        return "—" if obj.nsfw_score is None else f"{obj.nsfw_score:.2f}"

    @admin.display(description="Flags")
    def flags(self, obj: Photo) -> str:
        flags = []
        if obj.is_hidden:
            flags.append("hidden")
        elif obj.flagged_at and obj.reviewed_at is None:
            flags.append("in queue")
        if obj.reviewed_at:
            flags.append("reviewed")
        reports = getattr(obj, "report_count", 0)
        if reports:
            flags.append(f"{reports} report{'s' if reports > 1 else ''}")
        return ", ".join(flags) or "—"

    @admin.display(description="Why flagged")
    def reasons(self, obj: Photo):
        if not obj.flag_reasons:
            return "—"
        return format_html_join(mark_safe("<br>"), "{}", ((reason,) for reason in obj.flag_reasons))

    @admin.display(description="Size")
    def dimensions(self, obj: Photo) -> str:
        return f"{obj.width} x {obj.height} px"

    @admin.display(description="Captions and suggestions")
    def results(self, obj: Photo):
        generations = list(
            obj.generations.prefetch_related("model_captions", "suggestions").order_by("-created_at", "-id")[
                :HISTORY_SHOWN
            ]
        )
        if not generations:
            return "No job yet."
        return format_html_join("", "{}", ((self._generation_html(g),) for g in generations))

    @staticmethod
    def _generation_html(generation: Generation):
        url = reverse("admin:captions_generation_change", args=[generation.pk])
        rows = format_html_join(
            "",
            "<li><strong>{}</strong>: {}</li>",
            (
                (
                    row.get_source_display(),
                    row.text
                    or row.error
                    or ("" if row.score is None else f"score {row.score:.3f} ({row.model_name})"),
                )
                for row in generation.model_captions.all()
            ),
        )
        suggestions = format_html_join(
            "",
            "<li>{}<br><code>{}</code></li>",
            ((s.caption, " ".join(s.hashtags)) for s in generation.suggestions.all()),
        )
        return format_html(
            '<div class="admin-job"><p><a href="{}">Job {}</a> · {} · {} · {} · {} · '
            "refiner {} · banned hashtags removed: {}</p>{}<ul>{}</ul><ol>{}</ol></div>",
            url,
            generation.pk,
            generation.created_at.strftime("%Y-%m-%d %H:%M"),
            generation.get_status_display(),
            generation.get_platform_display(),
            generation.get_tone_display(),
            generation.refiner or "—",
            generation.banned_hashtags_dropped,
            format_html('<p class="errornote">{}</p>', generation.error) if generation.error else "",
            rows,
            suggestions,
        )


@admin.register(ModerationQueueItem)
class ModerationQueueAdmin(PhotoAdmin):
    """Photos waiting for a moderator, oldest flag first. Marking one reviewed,
    hiding or deleting it takes it off the queue."""

    list_display = ("preview", "name", "owner_link", "flagged_at", "why", "nsfw", "job_status")
    list_filter = (JobStatusFilter, ("owner", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = None
    ordering = ("flagged_at", "pk")
    actions = [as_action(d) for d in (MARK_REVIEWED, HIDE, DELETE)]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(IN_QUEUE).order_by("flagged_at", "pk")

    @admin.display(description="Why")
    def why(self, obj: Photo):
        reasons = self.reasons(obj)
        reports = getattr(obj, "report_count", 0)
        if reports:
            return format_html(
                "{}<br><em>{} report{} by the owner</em>", reasons, reports, "s" if reports > 1 else ""
            )
        return reasons
