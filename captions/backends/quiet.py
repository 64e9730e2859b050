"""Silence the model libraries already loaded in this process (workers only)."""

from __future__ import annotations

import sys


def model_libraries_quiet() -> None:
    """transformers reads its verbosity from the environment when first imported; once it is
    loaded, it has to be told directly."""
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
