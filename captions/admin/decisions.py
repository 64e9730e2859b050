"""Moderator decisions in the admin: each asks for a reason on a confirmation
page, then calls one service, which writes the audit trail.

A decision runs either as a changelist action (on the selected rows) or from
a button on one object's change page; both paths share ``confirm_with_reason``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from captions.services.moderation import ReasonRequired

CONFIRM_TEMPLATE = "admin/captions/confirm_with_reason.html"
LISTED = 100  # objects named on the confirmation page; all of them are acted on


@dataclass(frozen=True)
class Decision:
    name: str  # the admin action's name and the URL part of the button
    label: str  # "Hide"
    description: str  # the action menu's text
    reason_required: bool
    reason_help: str
    permission: str  # "change" or "delete"
    apply: Callable[..., int]  # apply(ids=..., actor=..., reason=...) -> how many changed
    done: str  # "{count} photo{s} hidden.": {s} is "s" unless count is 1
    danger: bool = False


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def __init__(self, *args, decision: Decision, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reason"]
        field.required = decision.reason_required
        field.label = "Reason" if decision.reason_required else "Reason (optional)"
        field.help_text = decision.reason_help


def confirm_with_reason(
    modeladmin, request: HttpRequest, queryset: QuerySet, decision: Decision, *, from_changelist: bool
) -> HttpResponse | None:
    """The confirmation page, or None once the decision was applied (the caller redirects)."""
    confirmed = request.method == "POST" and request.POST.get("confirm") == "yes"
    form = ReasonForm(request.POST if confirmed else None, decision=decision)
    ids = list(queryset.values_list("pk", flat=True))
    if confirmed and form.is_valid():
        try:
            count = decision.apply(ids=ids, actor=request.user, reason=form.cleaned_data["reason"])
        except ReasonRequired as exc:
            form.add_error("reason", str(exc))
        else:
            modeladmin.message_user(
                request, decision.done.format(count=count, s="" if count == 1 else "s"), messages.SUCCESS
            )
            return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"{decision.label}: are you sure?",
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "decision": decision,
        "form": form,
        "objects": list(queryset[:LISTED]),
        "count": len(ids),
        "ids": ids,
        "from_changelist": from_changelist,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def as_action(decision: Decision):
    """A changelist action for the decision, offered to users with its permission."""

    def action(modeladmin, request, queryset):
        return confirm_with_reason(modeladmin, request, queryset, decision, from_changelist=True)

    action.__name__ = decision.name
    action.short_description = decision.description
    action.allowed_permissions = (decision.permission,)
    return action
