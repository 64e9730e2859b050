"""List filters for the photo admin and the moderation queue."""

from django.contrib import admin

from captions.models import Generation
from captions.services.moderation import IN_QUEUE


class ModerationFilter(admin.SimpleListFilter):
    title = "moderation"
    parameter_name = "moderation"

    def lookups(self, request, model_admin):
        return [
            ("queue", "In the queue"),
            ("flagged", "Ever flagged"),
            ("reported", "Reported by the owner"),
            ("reviewed", "Reviewed"),
            ("unflagged", "Never flagged"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "queue":
                return queryset.filter(IN_QUEUE)
            case "flagged":
                return queryset.filter(flagged_at__isnull=False)
            case "reported":
                return queryset.filter(report_count__gt=0)
            case "reviewed":
                return queryset.filter(reviewed_at__isnull=False)
            case "unflagged":
                return queryset.filter(flagged_at__isnull=True)
        return queryset


class HiddenFilter(admin.SimpleListFilter):
    title = "hidden"
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("yes", "Hidden"), ("no", "Visible")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(hidden_at__isnull=self.value() == "no")
        return queryset


class JobStatusFilter(admin.SimpleListFilter):
    title = "job status (latest job)"
    parameter_name = "job_status"

    def lookups(self, request, model_admin):
        return [*Generation.Status.choices, ("none", "No job")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(latest_status__isnull=True)
        if value in Generation.Status.values:
            return queryset.filter(latest_status=value)
        return queryset
