from django.conf import settings
from rest_framework.throttling import UserRateThrottle


class ApiUserThrottle(UserRateThrottle):
    """Requests per user (per address when anonymous), at API_RATE_LIMIT.

    Read at each request rather than once at import, so the setting can change in tests."""

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT
