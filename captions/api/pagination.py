from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    """Opaque next/previous links that stay right while new photos arrive."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "per_page"
    max_page_size = 100
