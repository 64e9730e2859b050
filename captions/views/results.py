from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from captions.forms import ReportForm
from captions.models import Suggestion
from captions.selectors import generation_latest, photo_get_for_user
from captions.services.moderation import report_create
from captions.services.suggestions import suggestion_toggle_favourite


@login_required
@require_POST
def suggestion_favourite(request, pk: int):
    try:
        suggestion = Suggestion.objects.select_related("generation__photo").get(
            pk=pk, generation__photo__owner=request.user
        )
    except Suggestion.DoesNotExist as exc:
        raise Http404("No such suggestion.") from exc
    suggestion_toggle_favourite(suggestion=suggestion)
    photo = suggestion.generation.photo
    if request.htmx:
        generation = generation_latest(photo=photo)
        return render(request, "captions/_suggestions.html", {"generation": generation, "photo": photo})
    return redirect("captions:photo_detail", uuid=photo.uuid)


@login_required
@require_POST
def photo_report(request, uuid):
    photo = photo_get_for_user(user=request.user, uuid=uuid)
    form = ReportForm(request.POST)
    if form.is_valid():
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
