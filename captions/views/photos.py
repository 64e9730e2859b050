from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from captions.accounts.throttling import rate_limited
from captions.accounts.verification import email_verified_when_mandatory
from captions.forms import GenerationOptionsForm, ReportForm, UploadForm
from captions.models import Generation
from captions.selectors import (
    generation_latest,
    generation_run_for_photo,
    photo_get_for_user,
    photo_runs,
    photos_for_user,
)
from captions.services.generations import (
    GenerationOptions,
    GenerationRefused,
    generation_check_allowed,
    generation_start,
)
from captions.services.photos import UploadNotSaved, photo_delete, photo_upload_and_start

PAGE_SIZE = 12


def _options(form) -> GenerationOptions:
    data = form.cleaned_data
    return GenerationOptions(
        platform=data["platform"], tone=data["tone"], variants=data["variants"], language=data["language"]
    )


def _errors_text(form) -> str:
    """A form's errors as one line, each led by the field's label as the page shows it."""
    parts = []
    for name, errors in form.errors.items():
        text = " ".join(errors)
        parts.append(text if name == "__all__" else f"{form[name].label}: {text}")
    return "; ".join(parts)


@login_required
@require_GET
def photo_list(request):
    query = request.GET.get("q", "")[:200]
    status = request.GET.get("status", "")
    if status not in Generation.Status.values:
        status = ""
    favourites = request.GET.get("favourites") == "1"
    photos = photos_for_user(user=request.user, query=query, status=status, favourites=favourites)
    page = Paginator(photos, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "captions/photo_list.html",
        {
            "page": page,
            "query": query,
            "status": status,
            "favourites": favourites,
            # "Done" finds the jobs that wrote their posts with a caption model missing too.
            "statuses": [c for c in Generation.Status.choices if c[0] != Generation.Status.PARTIAL],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
@email_verified_when_mandatory
@rate_limited("upload")
def photo_upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        files = form.cleaned_data["photos"]
        try:
            generation_check_allowed(user=request.user, count=len(files))
        except GenerationRefused as exc:
            form.add_error(None, exc.message)
            return render(request, "captions/photo_upload.html", {"form": form}, status=403)
        try:
            outcome = photo_upload_and_start(owner=request.user, files=files, options=_options(form))
        except UploadNotSaved as exc:
            form.add_error(None, exc.message)
            return render(request, "captions/photo_upload.html", {"form": form}, status=503)
        for name, message in outcome.rejected:
            form.add_error("photos", f"{name}: {message}")
        if outcome.refused:
            messages.error(request, f"Photos saved, but no captions yet: {outcome.refused}")
        for photo in outcome.duplicates:
            if photo in outcome.new_runs:
                messages.info(
                    request,
                    f"You already uploaded “{photo.original_name}”: a new run with these options started.",
                )
            else:
                messages.info(request, f"You already uploaded “{photo.original_name}”: showing its results.")
        done = outcome.created + outcome.duplicates
        if outcome.rejected and not outcome.created:
            return render(request, "captions/photo_upload.html", {"form": form}, status=400)
        for name, message in outcome.rejected:
            messages.error(request, f"{name}: {message}")
        if len(done) == 1:
            return redirect("captions:photo_detail", uuid=done[0].uuid)
        messages.success(request, f"{len(outcome.created)} photos uploaded; their results appear below.")
        return redirect("captions:photo_list")
    return render(request, "captions/photo_upload.html", {"form": form})


def _detail_context(request, photo, *, run=None, **extra):
    """The photo page's context: the run asked for with ``?run=<id>``, else the latest."""
    run = run or request.GET.get("run")
    generation = generation_run_for_photo(photo=photo, run=run) if run else generation_latest(photo=photo)
    runs = list(photo_runs(photo=photo))
    options = GenerationOptionsForm(
        initial={
            "platform": generation.platform,
            "tone": generation.tone,
            "variants": generation.variants,
            "language": generation.language,
        }
        if generation
        else None
    )
    return {
        "photo": photo,
        "generation": generation,
        "runs": runs,
        "is_latest_run": not runs or generation is None or generation.pk == runs[0].pk,
        "options_form": options,
        "report_form": ReportForm(),
        **extra,
    }


@login_required
@require_GET
def photo_detail(request, uuid):
    photo = photo_get_for_user(user=request.user, uuid=uuid)
    return photo_page_response(request, photo)


def photo_page_response(request, photo, *, run=None, status: int = 200, edit: dict | None = None):
    """The photo page; ``edit`` carries a refused edit back into its variant's fields."""
    context = _detail_context(request, photo, run=run, edit=edit or {})
    return render(request, "captions/photo_detail.html", context, status=status)


@login_required
@require_GET
def photo_status(request, uuid):
    """The live part of the photo page; htmx polls it until the job is final."""
    photo = photo_get_for_user(user=request.user, uuid=uuid)
    return render(request, "captions/_generation.html", _detail_context(request, photo, edit={}))


@login_required
@require_POST
@email_verified_when_mandatory
@rate_limited("regenerate")
def photo_regenerate(request, uuid):
    photo = photo_get_for_user(user=request.user, uuid=uuid)
    form = GenerationOptionsForm(request.POST)
    if photo.is_hidden:
        messages.error(request, "This photo was removed by a moderator.")
    elif not form.is_valid():
        messages.error(request, f"Those options are not valid: {_errors_text(form)}")
    else:
        try:
            generation_start(photo=photo, options=_options(form))
        except GenerationRefused as exc:
            messages.error(request, exc.message)
    return redirect("captions:photo_detail", uuid=photo.uuid)


@login_required
@require_http_methods(["GET", "POST"])
def photo_delete_view(request, uuid):
    photo = photo_get_for_user(user=request.user, uuid=uuid)
    if request.method == "POST":
        name = photo.original_name
        photo_delete(photo=photo)
        messages.success(request, f"Deleted “{name}” and its results.")
        return redirect(reverse("captions:photo_list"))
    return render(request, "captions/photo_confirm_delete.html", {"photo": photo})
