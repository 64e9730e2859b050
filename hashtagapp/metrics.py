"""Prometheus metrics, read from the database and the broker at scrape time.

Nothing is counted in process memory, so every web process answers the same numbers and gunicorn's
and Celery's many processes need no shared metrics folder. The endpoint is off until
``METRICS_TOKEN`` is set, and then wants ``Authorization: Bearer <token>``. The metrics and their
labels are listed in docs/operations.md.
"""

from __future__ import annotations

import hmac
import logging
import statistics
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Sum
from django.http import HttpResponse, HttpResponseNotFound
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

PREFIX = "hashtagapp"
QUANTILES = (0.5, 0.9, 0.99)
STAGES = ("queued", "captioning", "refining", "total")
# The most recent finished jobs a scrape reads for its quantiles; bounds the scrape's cost.
WINDOW_MAX_JOBS = 5000
QUEUES = ("vision", "llm")
BROKER_TIMEOUT = 2.0
# kombu's Redis transport keeps priority levels in separate lists: "<queue>\x06\x16<priority>".


def _quantiles(values: list[float]) -> dict[float, float]:
    if not values:
        return {}
    ordered = sorted(values)
    if len(ordered) == 1:
        return dict.fromkeys(QUANTILES, ordered[0])
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {q: cuts[round(q * 100) - 1] for q in QUANTILES}


def job_stage_seconds(*, since) -> dict[str, list[float]]:
    """Seconds each finished job (since ``since``) spent in each stage, from its timestamps:
    queued (created → first source started), captioning (started → last source's row),
    refining (last source's row → finished) and total (created → finished)."""
    from captions.models import Generation

    rows = (
        Generation.objects.filter(finished_at__gte=since, finished_at__isnull=False)
        .annotate(captioned_at=Max("model_captions__created_at"))
        .order_by("-finished_at")
        .values_list("created_at", "started_at", "captioned_at", "finished_at", "status")[:WINDOW_MAX_JOBS]
    )
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for created, started, captioned, finished, status in rows:
        stages["total"].append((finished - created).total_seconds())
        if started:
            stages["queued"].append((started - created).total_seconds())
            if captioned:
                stages["captioning"].append(max(0.0, (captioned - started).total_seconds()))
        if captioned and status in ("done", "partial"):
            stages["refining"].append(max(0.0, (finished - captioned).total_seconds()))
    return stages


def queue_lengths() -> dict[str, int] | None:
    """Messages waiting in each queue; None when the broker is not Redis (the filesystem broker
    has no cheap count). One quick try: a scrape must not hang while the broker is down."""
    from captions.services.broker import broker_queue_depth
    from hashtagapp.celery import app

    if not app.conf.broker_url.startswith(("redis://", "rediss://")):
        return None
    return {queue: broker_queue_depth(queue=queue, timeout=BROKER_TIMEOUT) for queue in QUEUES}


class JobsCollector:
    """Reads jobs, model rows and queues at scrape time."""

    def collect(self):
        from captions.models import Generation, ModelCaption

        by_status = dict(
            Generation.objects.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        jobs = GaugeMetricFamily(f"{PREFIX}_jobs", "Jobs (generations) by current status.", labels=["status"])
        outcomes = CounterMetricFamily(
            f"{PREFIX}_job_outcomes", "Jobs that reached a final status, by status.", labels=["status"]
        )
        for status in Generation.Status.values:
            jobs.add_metric([status], by_status.get(status, 0))
            if status in Generation.FINAL_STATUSES:
                outcomes.add_metric([status], by_status.get(status, 0))
        yield jobs
        yield outcomes

        window = timedelta(seconds=settings.METRICS_WINDOW_SECONDS)
        since = timezone.now() - window
        stage_gauge = GaugeMetricFamily(
            f"{PREFIX}_job_stage_seconds",
            f"Seconds spent in each stage by jobs finished in the last {settings.METRICS_WINDOW_SECONDS} s.",
            labels=["stage", "quantile"],
        )
        stage_count = GaugeMetricFamily(
            f"{PREFIX}_job_stage_samples",
            "Jobs behind each stage's quantiles (finished in the window).",
            labels=["stage"],
        )
        for stage, values in job_stage_seconds(since=since).items():
            stage_count.add_metric([stage], len(values))
            for q, value in _quantiles(values).items():
                stage_gauge.add_metric([stage, str(q)], value)
        yield stage_gauge
        yield stage_count

        runs = CounterMetricFamily(
            f"{PREFIX}_model_runs",
            "Source results recorded, by source and status.",
            labels=["source", "status"],
        )
        seconds_total = CounterMetricFamily(
            f"{PREFIX}_model_seconds",
            "Model time of successful source results, summed (a batch's time counts for each photo).",
            labels=["source"],
        )
        totals = (
            ModelCaption.objects.order_by()
            .values("source", "status")
            .annotate(n=Count("id"), seconds=Sum("seconds"))
        )
        summed: dict[str, float] = {}
        for row in totals:
            runs.add_metric([row["source"], row["status"]], row["n"])
            if row["status"] == ModelCaption.Status.OK:
                summed[row["source"]] = summed.get(row["source"], 0.0) + (row["seconds"] or 0.0)
        for source, value in sorted(summed.items()):
            seconds_total.add_metric([source], value)
        yield runs
        yield seconds_total

        recent = GaugeMetricFamily(
            f"{PREFIX}_model_batch_seconds",
            "Model time per batch, by source, over results recorded in the window.",
            labels=["source", "quantile"],
        )
        per_source: dict[str, list[float]] = {}
        for source, value in (
            ModelCaption.objects.filter(
                created_at__gte=since, status=ModelCaption.Status.OK, seconds__isnull=False
            )
            .order_by("-created_at")
            .values_list("source", "seconds")[:WINDOW_MAX_JOBS]
        ):
            per_source.setdefault(source, []).append(value)
        for source, values in sorted(per_source.items()):
            for q, value in _quantiles(values).items():
                recent.add_metric([source, str(q)], value)
        yield recent

        up = GaugeMetricFamily(f"{PREFIX}_broker_up", "1 when the broker answered this scrape.")
        try:
            lengths = queue_lengths()
        except Exception as exc:  # A broker outage must not hide the job metrics.
            logger.warning("Could not read queue lengths: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        if lengths is not None:
            depth = GaugeMetricFamily(
                f"{PREFIX}_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
            )
            for queue, length in lengths.items():
                depth.add_metric([queue], length)
            yield depth


def metrics(request) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponseNotFound("Metrics are off: set METRICS_TOKEN.\n", content_type="text/plain")
    offered = request.headers.get("authorization", "")
    scheme, _, value = offered.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector())
    try:
        body = generate_latest(registry)
    except DatabaseError as exc:
        logger.warning("Metrics unavailable: %s", type(exc).__name__)
        return HttpResponse("The database is unavailable.\n", status=503, content_type="text/plain")
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
