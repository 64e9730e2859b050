import uuid as uuid_lib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

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
    photos_pending,
)
from captions.services.generations import (
    GenerationOptions,
    GenerationRefused,
    generation_check_allowed,
    generation_start,
)
from captions.services.photos import UploadNotSaved, photo_delete, photo_upload_and_start
from captions.services.quota import quota_batch_refusal, quota_status
from captions.views.history import history_filters

PAGE_SIZE = 12
# History polls its unfinished tiles in one request; a page never shows more than this.
TILES_MAX = PAGE_SIZE
UPLOAD_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


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
    filters = history_filters(request)
    photos = photos_for_user(user=request.user, **filters)
    page = Paginator(photos, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    return render(
        request,
        "captions/photo_list.html",
        {
            "page": page,
            **filters,
            # "Done" finds the jobs that wrote their posts with a caption model missing too.
            "statuses": [c for c in Generation.Status.choices if c[0] != Generation.Status.PARTIAL],
            "pending": photos_pending(page.object_list),
        },
    )


def _uuids(values: list[str]) -> list[uuid_lib.UUID]:
    found = []
    for value in values[:TILES_MAX]:
        try:
            found.append(uuid_lib.UUID(value))
        except ValueError:
            continue
    return found


@login_required
@require_GET
def photo_tiles(request):
    """History's live part: the tiles of the given photos (the user's own; others are ignored), each
    swapped in by id, and the poller again with the photos still unfinished, or without a trigger
    once all are final, which ends the polling."""
    uuids = _uuids(request.GET.getlist("ids"))
    photos = list(photos_for_user(user=request.user).filter(uuid__in=uuids))
    return render(
        request, "captions/_photo_tiles.html", {"photos": photos, "pending": photos_pending(photos)}
    )


def _upload_page(request, form, *, status: int = 200):
    """The upload form with the limits the browser checks before sending (the server checks again)
    and what is left of today's quota."""
    context = {
        "form": form,
        "quota": quota_status(user=request.user),
        "limits": {
            "max_files": settings.UPLOAD_MAX_FILES,
            "max_bytes": settings.UPLOAD_MAX_BYTES,
            "max_mb": settings.UPLOAD_MAX_BYTES // (1024 * 1024),
            "types": ",".join(UPLOAD_TYPES),
        },
    }
    return render(request, "captions/photo_upload.html", context, status=status)


def photo_upload_too_many_files(request):
    """The upload form again, for a request with more files than Django will parse
    (DATA_UPLOAD_MAX_NUMBER_FILES): its fields could not be read, so nothing was uploaded.
    Called by the input guard middleware before the view runs."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = UploadForm(data={})
    form.is_valid()
    form.errors["photos"] = form.error_class(
        [f"Too many files: limit {settings.UPLOAD_MAX_FILES} at once. Nothing was uploaded."]
    )
    return _upload_page(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
@email_verified_when_mandatory
@rate_limited("upload")
def photo_upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method != "POST":
        return _upload_page(request, form)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    files = form.cleaned_data["photos"]
    refusal = quota_batch_refusal(user=request.user, count=len(files))
    if refusal:
        form.add_error(None, refusal)
        return _upload_page(request, form, status=403)
    try:
        generation_check_allowed(user=request.user, count=len(files))
    except GenerationRefused as exc:
        form.add_error(None, exc.message)
        return _upload_page(request, form, status=403)
    try:
        outcome = photo_upload_and_start(owner=request.user, files=files, options=_options(form))
    except UploadNotSaved as exc:
        form.add_error(None, exc.message)
        return _upload_page(request, form, status=503)
    for name, message in outcome.rejected:
        form.add_error("photos", f"{name}: {message}")
    if outcome.refused:
        messages.error(request, f"Photos saved, but no captions yet: {outcome.refused}")
    for photo in outcome.duplicates:
        if photo in outcome.new_runs:
            name = photo.original_name
            messages.info(request, f"You already uploaded “{name}”: a new run with these options started.")
        else:
            messages.info(request, f"You already uploaded “{photo.original_name}”: showing its results.")
    done = outcome.created + outcome.duplicates
    if outcome.rejected and not outcome.created:
        return _upload_page(request, form, status=400)
    for name, message in outcome.rejected:
        messages.error(request, f"{name}: {message}")
    if len(done) == 1:
        return _redirect(request, reverse("captions:photo_detail", kwargs={"uuid": done[0].uuid}))
    messages.success(request, f"{len(outcome.created)} photos uploaded; their results appear below.")
    return _redirect(request, reverse("captions:photo_list"))


photo_upload.too_many_files = photo_upload_too_many_files


def _redirect(request, url: str):
    """A redirect; for the upload page's script (which sends with XMLHttpRequest to show progress)
    an HX-Redirect it follows itself, so the page it lands on still shows the messages."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


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
