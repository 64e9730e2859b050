"""Personal access tokens in the admin: staff see them (never their secrets) and can
revoke them, with a reason for the audit trail. Owners make them on their API page."""

from __future__ import annotations

from django.contrib import admin

from captions.admin.decisions import Decision, as_action
from captions.models import PersonalAccessToken
from captions.services.tokens import tokens_revoke_by_staff

REVOKE = Decision(
    name="revoke_tokens",
    label="Revoke",
    description="Revoke: the tokens stop working at once",
    reason_required=True,
    reason_help="Kept in the audit trail.",
    permission="change",
    apply=lambda ids, actor, reason: tokens_revoke_by_staff(token_ids=ids, actor=actor, reason=reason),
    done="{count} token{s} revoked.",
    danger=True,
)


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "prefix", "user__username", "user__email")
    list_select_related = ("user",)
    fields = list_display
    readonly_fields = list_display
    actions = [as_action(REVOKE)]

    def has_add_permission(self, request) -> bool:
        return False  # Only their owner makes tokens, and sees the secret once.
