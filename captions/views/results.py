from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from captions.accounts.throttling import rate_limited
from captions.forms import ReportForm
from captions.selectors import generation_latest, photo_get_for_user, suggestion_get_for_user
from captions.services.moderation import report_create
from captions.services.suggestions import suggestion_toggle_favourite


@login_required
@require_POST
def suggestion_favourite(request, pk: int):
    suggestion = suggestion_get_for_user(user=request.user, pk=pk)
    photo = suggestion.generation.photo
    if photo.is_hidden:
        # Its results are not shown any more: no partial that would show them.
        messages.error(request, "This photo was removed by a moderator.")
        return redirect("captions:photo_detail", uuid=photo.uuid)
    suggestion_toggle_favourite(suggestion=suggestion)
    if request.htmx:
        generation = generation_latest(photo=photo)
        return render(request, "captions/_suggestions.html", {"generation": generation, "photo": photo})
    return redirect("captions:photo_detail", uuid=photo.uuid)


@login_required
@require_POST
@rate_limited("report")
def photo_report(request, uuid):
    photo = photo_get_for_user(user=request.user, uuid=uuid)
    form = ReportForm(request.POST)
    if photo.is_hidden:
        messages.error(request, "This photo was removed by a moderator.")
    elif form.is_valid():
        report_create(
            photo=photo,
            reporter=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            generation=generation_latest(photo=photo),
        )
        messages.success(request, "Thank you: a moderator will look at this result.")
    else:
        messages.error(request, "Choose why you are reporting this result.")
    return redirect("captions:photo_detail", uuid=photo.uuid)
