"""A fake Hugging Face hub on 127.0.0.1, enough of it for ``snapshot_download``.

Point the real client at it with ``HF_ENDPOINT=fake.url`` (read when huggingface_hub is
imported, so in a fresh process). It serves every repository id with the same files and speaks
the routes the client uses to download a model:

- ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}``: the model's info, with
  its commit ``sha`` and ``siblings``;
- ``GET /api/models/{repo}/tree/{rev}``: the file list (``type``, ``path``, ``size``, ``oid``);
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}``: the file, with ``X-Repo-Commit``, ``ETag``
  and ``Content-Length`` as the hub sends them (no Xet: plain HTTP downloads).

Requests are recorded as ``(method, path)``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
DEFAULT_FILES = {
    "config.json": b'{"model_type": "fake"}',
    "model.safetensors": bytes(range(256)) * 4096,  # 1 MiB: enough for a progress bar to move
}


class FakeHub:
    def __init__(self, files: dict[str, bytes] | None = None):
        self.files = dict(files or DEFAULT_FILES)
        self.requests: list[tuple[str, str]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-hub", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    @property
    def hub(self) -> FakeHub:
        return self.server.hub  # type: ignore[attr-defined]

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, *, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        self.hub.requests.append((self.command, path))
        if path.startswith("/api/models/"):
            return self._api(path.removeprefix("/api/models/"), body=body)
        _repo, sep, rest = path.lstrip("/").partition("/resolve/")
        _revision, _, name = rest.partition("/")
        if not sep or name not in self.hub.files:
            return self._json(
                404, {"error": "Entry not found"}, body=body, headers={"X-Error-Code": "EntryNotFound"}
            )
        data = self.hub.files[name]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("X-Repo-Commit", COMMIT)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _api(self, rest: str, *, body: bool) -> None:
        parts = rest.split("/")
        repo = "/".join(parts[:2])
        if len(parts) >= 4 and parts[2] == "tree":
            tree = [
                {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                for name, data in self.hub.files.items()
            ]
            return self._json(200, tree, body=body)
        info = {
            "id": repo,
            "modelId": repo,
            "sha": COMMIT,
            "private": False,
            "siblings": [{"rfilename": name} for name in self.hub.files],
        }
        return self._json(200, info, body=body)

    def _json(self, status: int, payload, *, body: bool, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(data)
