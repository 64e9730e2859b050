"""The web process never imports the model stack; only workers do."""

from tests.site_process import site_python

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
    out = site_python(CHECK, RUN_DIR=str(tmp_path))
    assert out.stdout.strip().splitlines()[-1] == "none", out.stdout + out.stderr
