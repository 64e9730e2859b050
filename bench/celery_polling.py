"""The site's Celery app with the filesystem broker's polling interval taken from
$BENCH_POLLING_INTERVAL: tries a shorter interval than kombu's 1 s without
changing the product (``celery -A bench.celery_polling worker``)."""

import os

from hashtagapp.celery import app

app.conf.broker_transport_options = {
    **app.conf.broker_transport_options,
    "polling_interval": float(os.environ.get("BENCH_POLLING_INTERVAL", "1.0")),
}

__all__ = ["app"]
