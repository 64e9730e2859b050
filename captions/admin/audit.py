"""The audit trail in words: "mia hid coffee.jpg: blurry nudity", not `photo_hide`."""

from __future__ import annotations

from django.contrib import admin

from captions.models import ModerationAction
from captions.services import moderation
from captions.services.tokens import TOKEN_REVOKE

# What each action did, as a verb phrase around its target.
ACTION_WORDS = {
    moderation.PHOTO_HIDE: ("Photo hidden", "hid {target}"),
    moderation.PHOTO_RESTORE: ("Photo restored", "restored {target}"),
    moderation.PHOTO_REVIEW: ("Photo marked reviewed", "marked {target} reviewed"),
    moderation.PHOTO_DELETE: ("Photo deleted", "deleted {target}"),
    moderation.USER_BAN: ("User banned", "banned {target}"),
    moderation.USER_UNBAN: ("User unbanned", "unbanned {target}"),
    moderation.STANDING_CHANGE: ("Limits changed", "changed the limits of {target}"),
    moderation.BANNED_HASHTAG_ADD: ("Hashtag banned", "added {target} to the banned hashtags"),
    moderation.BANNED_HASHTAG_CHANGE: ("Banned hashtag changed", "changed the banned hashtag {target}"),
    moderation.BANNED_HASHTAG_DELETE: ("Hashtag unbanned", "removed {target} from the banned hashtags"),
    TOKEN_REVOKE: ("API token revoked", "revoked the API token {target}"),
}


def audit_sentence(entry: ModerationAction) -> str:
    """One plain sentence: who did what to which object, and why."""
    actor = entry.actor
    who = (actor.get_full_name() or actor.get_username()) if actor else "A deleted account"
    _label, phrase = ACTION_WORDS.get(entry.action, ("", entry.action.replace("_", " ") + " {target}"))
    sentence = f"{who} {phrase.format(target=entry.target_repr)}"
    return f"{sentence}: {entry.reason}" if entry.reason else f"{sentence}."


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(code, label) for code, (label, _phrase) in ACTION_WORDS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset
