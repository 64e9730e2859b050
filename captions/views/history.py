"""The favourites page and the download of a person's history (CSV or JSON)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from captions.models import Generation
from captions.selectors import favourites_for_user, photos_for_user
from captions.services.history_export import history_csv, history_json

PAGE_SIZE = 20
EXPORT_FORMATS = {"csv": (history_csv, "text/csv"), "json": (history_json, "application/json")}


@login_required
@require_GET
def favourite_list(request):
    page = Paginator(favourites_for_user(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "captions/favourite_list.html", {"page": page})


def history_filters(request) -> dict:
    """History's filters from the query string: the History page and its download read them alike."""
    status = request.GET.get("status", "")
    return {
        "query": request.GET.get("q", "")[:200],
        "status": status if status in Generation.Status.values else "",
        "favourites": request.GET.get("favourites") == "1",
    }


@login_required
@require_GET
def history_export(request, fmt: str):
    filters = history_filters(request)
    photos = photos_for_user(user=request.user, **filters)
    write, content_type = EXPORT_FORMATS[fmt]
    body = write(photos=photos, favourites_only=filters["favourites"])
    response = StreamingHttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    name = f"captions-{timezone.localdate():%Y-%m-%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
