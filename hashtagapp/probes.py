"""Health, readiness and metrics answer whatever Host a probe sends, over plain HTTP.

Kubernetes probes and Prometheus address a pod by its IP, and a compose healthcheck asks
``localhost``: none of them is in ALLOWED_HOSTS, and none of them speaks TLS. This middleware sits
first and answers those three paths before Django validates the Host or redirects to https. The
answers build no URL from the Host, so accepting any Host here is safe.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync

from hashtagapp import health, metrics

PROBES = {
    "/healthz": health.liveness,
    "/readyz": async_to_sync(health.readiness),
    "/metrics": metrics.metrics,
}


class ProbesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = PROBES.get(request.path_info)
        if view is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        return view(request)
