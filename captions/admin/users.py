"""Users in the admin: Django's UserAdmin with the account's standing (AI switch,
daily quota, ban) and the ban / unban decisions."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied

from captions.admin.decisions import Decision, as_action
from captions.models import AccountStanding
from captions.services.standing import standing_record_change, users_ban, users_unban

User = get_user_model()

BAN = Decision(
    name="ban_users",
    label="Ban",
    description="Ban: deactivate, end their sessions, cancel their jobs",
    reason_required=True,
    reason_help="Kept on the account and in the audit trail.",
    permission="change",
    apply=lambda ids, actor, reason: users_ban(user_ids=ids, actor=actor, reason=reason),
    done=(
        "{count} user{s} banned: they cannot log in, their sessions ended "
        "and their jobs in flight were cancelled."
    ),
    danger=True,
)
UNBAN = Decision(
    name="unban_users",
    label="Unban",
    description="Unban: let them log in again",
    reason_required=False,
    reason_help="Kept in the audit trail.",
    permission="change",
    apply=lambda ids, actor, reason: users_unban(user_ids=ids, actor=actor, reason=reason),
    done="{count} user{s} unbanned.",
)


class AccountStandingInline(admin.StackedInline):
    model = AccountStanding
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = "Standing"
    fields = ("ai_enabled", "daily_quota", "banned_at", "ban_reason")
    readonly_fields = ("banned_at", "ban_reason")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        default = settings.DAILY_GENERATION_QUOTA
        quota = formset.form.base_fields["daily_quota"]
        quota.help_text = f"Generations in 24 hours; empty means the site default ({default})."
        return formset


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class ModeratedUserAdmin(UserAdmin):
    list_display = (*UserAdmin.list_display, "is_active", "ban_reason")
    actions = [as_action(BAN), as_action(UNBAN)]

    # A moderator may ban and set quotas; only a superuser may touch staff accounts, passwords
    # and permissions, or a moderator could make themselves a superuser.
    PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, *self.PRIVILEGE_FIELDS)

    def has_change_permission(self, request, obj=None):
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def get_inlines(self, request, obj):
        return (*super().get_inlines(request, obj), AccountStandingInline) if obj else ()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("standing")

    @admin.display(description="Ban reason")
    def ban_reason(self, obj) -> str:
        standing = getattr(obj, "standing", None)
        return standing.ban_reason if standing and standing.banned_at else ""

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is AccountStanding:
            for standing_form in formset.forms:
                if standing_form.has_changed() and standing_form.instance.pk:
                    standing_record_change(
                        standing=standing_form.instance,
                        actor=request.user,
                        changed=standing_form.changed_data,
                    )
