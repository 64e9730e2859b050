"""Preloading models in a fresh worker process."""

import logging

from django.conf import settings

from captions.backends.base import BackendError
from captions.services import moderation, sources

logger = logging.getLogger(__name__)


def vision_warm() -> list[str]:
    """Load the tagger, the people detector (cheap: see docs/quality.md) and, when enabled,
    the NSFW scorer; return what loaded. A failure is only logged: the task
    that needs the model reports it properly."""
    loaded = []
    loaders = [("tagger", sources.tagger), ("people", sources.people_detector)]
    if settings.NSFW_ENABLED:
        loaders.append(("nsfw", moderation.nsfw_scorer))
    for name, load in loaders:
        try:
            load()
        except (BackendError, OSError, RuntimeError, ImportError) as exc:
            logger.warning("Could not preload %s: %s", name, exc)
            continue
        loaded.append(name)
    return loaded
