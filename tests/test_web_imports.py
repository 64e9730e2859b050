"""The web process never imports the model stack; only workers do."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import sys
from django.core.wsgi import get_wsgi_application
from django.test import Client
from django.urls import get_resolver

application = get_wsgi_application()
resolver = get_resolver()
for pattern in resolver.url_patterns:
    getattr(pattern, "url_patterns", None)
import captions.admin, captions.tasks, captions.views.photos, captions.views.media, captions.views.results
Client().get("/accounts/login/")
stack = ("torch", "transformers", "onnxruntime", "efficientnet_lite_pytorch", "cv2")
heavy = sorted(m for m in stack if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_web_process_does_not_import_torch_transformers_or_onnxruntime(tmp_path):
    env = {**os.environ, "DEBUG": "1", "ENV_FILE": os.devnull, "RUN_DIR": str(tmp_path)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "hashtagapp.settings")
    out = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "none", out.stdout + out.stderr
