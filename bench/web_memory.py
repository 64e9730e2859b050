"""The web process's resident memory under gunicorn, after real use.

Runs ``gunicorn hashtagapp.wsgi -w 1`` with DEBUG=1 on SQLite and the
filesystem broker in a temporary RUN_DIR (migrated first), signs in and walks
the main pages with a cookie session: history, the upload form, an upload
(which stores the photo and enqueues its tasks), the photo page, its status
fragment (as htmx polls it), thumbnail and image, and the admin index. Then
it reads VmRSS and VmHWM (peak) of the gunicorn worker from /proc and checks
that the worker never loaded torch, transformers or onnxruntime: neither as a
Python module (a gunicorn hook records ``sys.modules`` after each request)
nor as a shared library in /proc/<pid>/maps.

    python -m bench.web_memory [--rounds 10]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from bench.common import PHOTO_NAMES, PHOTOS_DIR, ROOT, machine, print_table, write_results
from bench.job_overhead import free_port, wait_for_port

TARGET_MB = 150
FORBIDDEN_MODULES = ("torch", "transformers", "onnxruntime", "efficientnet_lite_pytorch")
FORBIDDEN_LIBRARIES = ("libtorch", "libonnxruntime", "libc10")
USER, PASSWORD = "bench", "bench-password-4821"


def kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE).group(1))


def worker_pid(master: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


class Browser:
    """A cookie session with Django's CSRF token, on urllib."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def csrf(self) -> str:
        return next(c.value for c in self.cookies if c.name == "csrftoken")

    def get(self, path: str, **headers: str) -> tuple[str, bytes]:
        request = urllib.request.Request(self.base + path, headers=headers)
        with self.opener.open(request, timeout=30) as response:
            return response.url, response.read()

    def post(self, path: str, data: bytes, content_type: str) -> tuple[str, bytes]:
        request = urllib.request.Request(
            self.base + path, data=data, headers={"Content-Type": content_type, "Referer": self.base + path}
        )
        with self.opener.open(request, timeout=30) as response:
            return response.url, response.read()

    def login(self) -> None:
        self.get("/accounts/login/")
        form = {"login": USER, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf()}
        url, _ = self.post(
            "/accounts/login/", urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        )
        if "/accounts/login/" in url:
            raise RuntimeError("login failed")

    def upload(self, name: str, data: bytes) -> str:
        """Upload one photo; the photo page's path (the upload redirects there)."""
        fields = {"platform": "instagram", "tone": "casual", "variants": "3", "language": "en"}
        fields["csrfmiddlewaretoken"] = self.csrf()
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{name}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        url, _ = self.post("/upload/", b"".join(parts), f"multipart/form-data; boundary={boundary}")
        path = urllib.parse.urlparse(url).path
        if not re.fullmatch(r"/photos/[0-9a-f-]{36}/", path):
            raise RuntimeError(f"upload did not reach a photo page: {url}")
        return path


def large_jpeg(megapixels: float) -> bytes:
    """A smooth 3:2 photo of about this many megapixels (a test photo scaled up): a phone camera's."""
    from PIL import Image

    width = int((megapixels * 1e6 * 3 / 2) ** 0.5)
    with Image.open(PHOTOS_DIR / PHOTO_NAMES[0]) as image:
        big = image.convert("RGB").resize((width, width * 2 // 3), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    big.save(out, format="JPEG", quality=90)
    return out.getvalue()


def distinct_jpeg(index: int) -> bytes:
    """A test photo with a coloured corner, so every upload is new after re-encoding (no duplicate)."""
    from PIL import Image

    with Image.open(PHOTOS_DIR / PHOTO_NAMES[index % len(PHOTO_NAMES)]) as image:
        image = image.convert("RGB")
    image.paste((index * 37 % 256, index * 91 % 256, index * 53 % 256), (0, 0, 24, 24))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def exercise(browser: Browser, rounds: int) -> None:
    for i in range(rounds):
        browser.get("/")
        browser.get("/upload/")
        photo = browser.upload(f"bench{i}.jpg", distinct_jpeg(i))
        browser.get(photo)
        browser.get(f"{photo}status/", **{"HX-Request": "true"})
        browser.get(f"{photo}thumbnail/")
        browser.get(f"{photo}image/")
    browser.get("/admin/")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="uploads, each with its pages")
    parser.add_argument("--large-mp", type=float, default=12, help="then one upload this large (0: none)")
    args = parser.parse_args(argv)

    run_dir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    # SQLite, the filesystem broker and media all inside run_dir, whatever this shell has set.
    inherited = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_BROKER_DIR", "MEDIA_ROOT")
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    env.update(
        DEBUG="1",
        ENV_FILE="/dev/null",
        RUN_DIR=str(run_dir),
        BENCH_MODULES_FILE=str(run_dir / "modules.json"),
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        # The rounds upload faster than a person may (10 a minute).
        RATE_LIMIT_UPLOAD="1000/m/user,1000/m/ip",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [*manage, "createsuperuser", "--noinput", "--username", USER, "--email", "bench@example.com"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "hashtagapp.wsgi",
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{port}",
        "-c",
        "bench/gunicorn_probe.py",
    ]
    log = (run_dir / "gunicorn.log").open("wb")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        pid = worker_pid(server.pid)
        browser = Browser(f"http://127.0.0.1:{port}")
        browser.get("/accounts/login/")
        after_first = kib(pid, "VmRSS")
        browser.login()
        exercise(browser, args.rounds)
        rss, peak, master = kib(pid, "VmRSS"), kib(pid, "VmHWM"), kib(server.pid, "VmRSS")
        if args.large_mp:
            large = large_jpeg(args.large_mp)
            browser.get(browser.upload("large.jpg", large))
        large_rss, large_peak = kib(pid, "VmRSS"), kib(pid, "VmHWM")
        maps = Path(f"/proc/{pid}/maps").read_text()
        modules = json.loads((run_dir / "modules.json").read_text())
    finally:
        server.terminate()
        server.wait(timeout=30)
    if modules["pid"] != pid:
        raise RuntimeError("the module list came from another process")
    loaded_modules = [m for m in FORBIDDEN_MODULES if m in modules["modules"]]
    loaded_libraries = sorted({lib for lib in FORBIDDEN_LIBRARIES if lib in maps})
    queued = len(list((run_dir / "broker" / "queue").glob("*")))

    mb = lambda k: round(k / 1024, 1)  # noqa: E731
    rows = [
        ["worker VmRSS after the login page", mb(after_first)],
        [f"worker VmRSS after {args.rounds} rounds of pages and uploads", mb(rss)],
        ["worker VmHWM (peak) so far", mb(peak)],
        ["master VmRSS", mb(master)],
    ]
    if args.large_mp:
        rows += [
            [
                f"worker VmRSS after one {args.large_mp:g} MP upload ({len(large) / 1e6:.1f} MB file)",
                mb(large_rss),
            ],
            [f"worker VmHWM (peak) with the {args.large_mp:g} MP upload", mb(large_peak)],
        ]
    print_table("Web process memory (gunicorn -w 1, DEBUG=1, SQLite), MB", ["measure", "MB"], rows)
    ok = rss / 1024 < TARGET_MB and not loaded_modules and not loaded_libraries
    print(f"target: worker VmRSS under {TARGET_MB} MB, no torch/transformers: {'met' if ok else 'MISSED'}")
    print(f"forbidden modules loaded: {loaded_modules or 'none'}")
    print(f"forbidden libraries mapped: {loaded_libraries or 'none'}")
    print(f"tasks left on the filesystem broker by the uploads: {queued}")
    write_results(
        "web_memory",
        {
            "machine": machine(),
            "command": " ".join(command[1:]),
            "rounds": args.rounds,
            "worker_rss_after_first_page_mb": mb(after_first),
            "worker_rss_mb": mb(rss),
            "worker_peak_mb": mb(peak),
            "master_rss_mb": mb(master),
            "large_upload_mp": args.large_mp,
            "worker_rss_after_large_upload_mb": mb(large_rss),
            "worker_peak_with_large_upload_mb": mb(large_peak),
            "target_mb": TARGET_MB,
            "forbidden_modules_loaded": loaded_modules,
            "forbidden_libraries_mapped": loaded_libraries,
            "tasks_enqueued": queued,
            "module_count": len(modules["modules"]),
            "met": ok,
        },
    )


if __name__ == "__main__":
    main()
