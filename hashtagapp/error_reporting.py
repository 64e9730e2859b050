"""Error reporting to Sentry (or a Sentry-compatible service such as GlitchTip), on only with a DSN."""

from __future__ import annotations


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> bool:
    """Start sentry-sdk with the Django and Celery integrations when ``dsn`` is set; return whether
    it started. Called from settings, so the web process and every worker report alike.

    Personal data stays out (``send_default_pii`` off): no user names, addresses or cookies.
    """
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
    return True
