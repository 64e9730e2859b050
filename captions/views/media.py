from django.contrib.auth.decorators import login_required
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET

from captions.accounts.two_factor import staff_with_two_factor
from captions.selectors import photo_get_for_media


@login_required
@require_GET
def photo_media(request, uuid, kind: str):
    """Serve a photo or its thumbnail to its owner (or a moderator). With S3 storage,
    redirect to a short-lived signed URL instead of streaming."""
    moderator = media_moderator(request)
    photo = photo_get_for_media(user=request.user, uuid=uuid, moderator=moderator)
    if photo.is_hidden and not moderator:
        raise Http404("Removed by a moderator.")
    return media_response(field=photo.image if kind == "image" else photo.thumbnail)


def media_response(*, field) -> HttpResponse:
    """A stored file as a private response: streamed from local storage, or a
    redirect to a signed URL on remote storage. The caller checks access."""
    if not _is_local():
        response = HttpResponseRedirect(field.url)
        # The signed URL expires; a cached redirect would outlive it.
        response["Cache-Control"] = "private, no-store"
    else:
        try:
            response = FileResponse(field.open("rb"), content_type="image/jpeg")
        except FileNotFoundError as exc:
            raise Http404("File missing.") from exc
        response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def media_moderator(request) -> bool:
    """Staff may see other people's photos only with the permission to view photos (the
    "moderator" group has it), from a two-factor session, as in the admin."""
    return staff_with_two_factor(request) and request.user.has_perm("captions.view_photo")


def _is_local() -> bool:
    """Local files are streamed; remote storage (S3) hands out signed URLs instead."""
    return isinstance(default_storage, FileSystemStorage)
