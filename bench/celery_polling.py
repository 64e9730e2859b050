"""The site's Celery app with the filesystem broker's polling interval taken from
$BENCH_POLLING_INTERVAL, to try other intervals than the site's without changing
it (``celery -A bench.celery_polling worker``)."""

import os

from hashtagapp.celery import app

app.conf.broker_transport_options = {
    **app.conf.broker_transport_options,
    "polling_interval": float(os.environ.get("BENCH_POLLING_INTERVAL", "0.1")),
}

__all__ = ["app"]
