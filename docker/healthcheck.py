"""Container health probe for the web process: exit 0 when PATH answers 2xx, 1 otherwise.

    python docker/healthcheck.py /healthz

It asks gunicorn on 127.0.0.1:$PORT the way the proxy in front would: with a Host header the site
accepts (the first of ALLOWED_HOSTS) and X-Forwarded-Proto: https, so neither the host check nor the
HTTPS redirect answers instead of the page. Standard library only: it runs every few seconds.
"""

import os
import sys
import urllib.error
import urllib.request


def probe_host() -> str:
    first = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip()
    if first in ("", "*"):
        return "localhost"
    return first.lstrip(".")  # ".example.com" allows example.com and its subdomains.


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not health: /healthz must answer itself."""

    def redirect_request(self, *args, **kwargs):
        return None


def main(path: str) -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
    request = urllib.request.Request(url, headers={"Host": probe_host(), "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.build_opener(_NoRedirects).open(request, timeout=5) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    if 200 <= status < 300:
        return 0
    print(f"{url}: HTTP {status}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/healthz"))
