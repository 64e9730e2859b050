"""Can this machine reach the Hugging Face hub? Asked before a first-run download, so that a
machine with no internet learns it in seconds instead of waiting on the hub client's retries."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

HUB_PROBE_SECONDS = 5.0


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def hub_unreachable_reason(*, model: str, timeout: float = HUB_PROBE_SECONDS) -> str | None:
    """None when the hub answers about ``model`` within ``timeout`` seconds, else why not, in
    words. Any HTTP answer counts as reachable (a missing or gated model is the download's to
    report). Name resolution is bounded too: the probe runs in a thread that is waited on at most
    ``timeout`` seconds."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    url = f"{hub_endpoint()}/api/models/{model}"
    if not url.startswith(("http://", "https://")):
        return f"HF_ENDPOINT is not an http(s) address: {hub_endpoint()!r}"
    outcome: list[str | None] = []

    def probe() -> None:
        request = urllib.request.Request(url, method="HEAD")  # noqa: S310 (http(s) only, checked above)
        try:
            with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 (the hub's URL)
                outcome.append(None)
        except urllib.error.HTTPError:
            outcome.append(None)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            outcome.append(str(reason))

    thread = threading.Thread(target=probe, name="hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return f"no answer within {timeout:g} s"
    return outcome[0]
