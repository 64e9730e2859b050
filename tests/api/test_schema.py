"""The OpenAPI description: valid, complete, and its docs page works with no network."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from captions.forms import GenerationOptionsForm, UploadForm

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_validates_with_no_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    # Raises (and so fails the test) on any warning or validation error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert yaml.safe_load(out.read_text())["openapi"].startswith("3.")


def test_schema_is_served_to_anyone_at_api_schema(anon_client):
    response = anon_client.get(reverse("api:schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Image Hashtag Generator API"


def test_every_endpoint_is_described_under_v1(schema):
    assert sorted(schema["paths"]) == [
        "/api/v1/jobs/{id}/",
        "/api/v1/me/",
        "/api/v1/photos/",
        "/api/v1/photos/{uuid}/",
        "/api/v1/photos/{uuid}/image/",
        "/api/v1/photos/{uuid}/runs/",
        "/api/v1/photos/{uuid}/thumbnail/",
        "/api/v1/variants/{id}/favourite/",
    ]
    assert schema["components"]["securitySchemes"]["personalToken"]["scheme"] == "bearer"


def test_documented_upload_fields_are_the_web_forms_fields(schema):
    body = schema["paths"]["/api/v1/photos/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    name = body["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][name]["properties"]) == set(UploadForm.base_fields)
    runs = schema["paths"]["/api/v1/photos/{uuid}/runs/"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    name = runs["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][name]["properties"]) == set(GenerationOptionsForm.base_fields)


def test_errors_are_described_as_problem_details(schema):
    upload = schema["paths"]["/api/v1/photos/"]["post"]["responses"]
    assert {"202", "400", "401", "413", "429"} <= set(upload)
    assert upload["429"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


def test_docs_page_loads_swagger_ui_from_this_site_only(anon_client):
    response = anon_client.get(reverse("api:docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    script = anon_client.get(reverse("api:docs"), {"script": ""}).content.decode()  # No inline script.
    assert reverse("api:schema") in script
    external = [url for url in re.findall(r'(?:src|href)="(https?://[^"]+)"', page)]
    assert external == []
    assert not re.search(r"cdn\.jsdelivr|unpkg\.com|cdnjs", page)


def test_docs_static_files_are_installed(client):
    from django.contrib.staticfiles import finders

    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")


def test_docs_assets_survive_the_production_collectstatic(tmp_path):
    """Whitenoise's manifest storage refuses files whose references it cannot resolve."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "ENV_FILE": os.devnull,
        "ALLOWED_HOSTS": "example.com",
        "SECRET_KEY": "collectstatic-only-" + "x" * 50,
        "STATIC_ROOT": str(tmp_path / "static"),
        "RUN_DIR": str(tmp_path / "run"),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in manifest
