from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from captions.accounts.throttling import rate_limited
from captions.forms import ReportForm
from captions.selectors import (
    generation_latest,
    generation_run_for_photo,
    photo_get_for_user,
    suggestion_get_for_user,
)
from captions.services.moderation import report_create
from captions.services.suggestion_edits import SuggestionEditRejected, suggestion_edit
from captions.services.suggestions import suggestion_toggle_favourite
from captions.views.photos import photo_page_response


def _run_url(suggestion) -> str:
    """The photo page showing the run this variant belongs to."""
    photo = suggestion.generation.photo
    return f"{reverse('captions:photo_detail', kwargs={'uuid': photo.uuid})}?run={suggestion.generation_id}"


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
        # The run this variant belongs to, which need not be the latest.
        generation = generation_run_for_photo(photo=photo, run=suggestion.generation_id)
        return render(request, "captions/_suggestions.html", {"generation": generation, "photo": photo})
    return redirect(_run_url(suggestion))


@login_required
@require_POST
def suggestion_edit_view(request, pk: int):
    """Save the owner's edit of a variant. A refused edit saves nothing and shows the page
    again with the text as typed and what is wrong with it."""
    suggestion = suggestion_get_for_user(user=request.user, pk=pk)
    photo = suggestion.generation.photo
    if photo.is_hidden:
        messages.error(request, "This photo was removed by a moderator.")
        return redirect("captions:photo_detail", uuid=photo.uuid)
    caption = request.POST.get("caption", "")
    hashtags = request.POST.get("hashtags", "")
    try:
        suggestion_edit(suggestion=suggestion, caption=caption, hashtags_text=hashtags)
    except SuggestionEditRejected as exc:
        return photo_page_response(
            request,
            photo,
            run=suggestion.generation_id,
            status=400,
            edit={"pk": suggestion.pk, "caption": caption, "hashtags": hashtags, "error": exc.message},
        )
    messages.success(request, "Saved your edit.")
    return redirect(_run_url(suggestion))


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
            # The run the page showed, when it was an earlier one.
            generation=generation_run_for_photo(photo=photo, run=request.POST["run"])
            if request.POST.get("run")
            else generation_latest(photo=photo),
        )
        messages.success(request, "Thank you: a moderator will look at this result.")
    else:
        messages.error(request, "Choose why you are reporting this result.")
    return redirect("captions:photo_detail", uuid=photo.uuid)
