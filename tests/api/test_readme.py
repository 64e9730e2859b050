"""The README's curl examples, run as printed with real curl against a live server."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from captions.models import Generation, Photo
from tests.api.conftest import token_for
from tests.factories import SuggestionFactory

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "tests" / "photos" / "cat.jpg"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command"),
]


def readme_commands() -> list[str]:
    """The curl commands of the README's API section, continuation lines joined."""
    section = ROOT.joinpath("README.md").read_text().split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL).group(1)
    return [line for line in block.replace("\\\n", " ").splitlines() if line.startswith("curl ")]


def run(command: str, cwd: Path, **env: str) -> str:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env={"PATH": f"{Path(shutil.which('curl')).parent}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_readme_curl_examples_work_as_printed(live_server, alice, tmp_path):
    commands = readme_commands()
    assert len(commands) == 6
    upload, poll, poll_again, favourite, history, me = commands
    shutil.copy(PHOTO, tmp_path / "beach.jpg")
    env = {"API": f"{live_server.url}/api/v1", "TOKEN": token_for(alice)}

    answer = json.loads(run(upload, tmp_path, **env))
    photo = Photo.objects.get()
    job = photo.generations.get()
    assert answer["photos"][0]["id"] == str(photo.uuid)
    assert answer["photos"][0]["job"]["id"] == job.pk
    assert (job.platform, job.tone, job.variants, job.language) == ("instagram", "casual", 3, "en")
    assert json.loads(run(upload, tmp_path, **env)) == answer  # The retry, with the same key.
    assert Generation.objects.count() == 1

    env["JOB"] = str(job.pk)
    head, _, body = run(poll, tmp_path, **env).partition("\n\n")
    assert head.startswith("HTTP/1.1 200")
    assert json.loads(body)["status"] == "queued"
    env["ETAG"] = re.search(r"^ETag: (.+)$", head, flags=re.MULTILINE | re.IGNORECASE).group(1)
    assert run(poll_again, tmp_path, **env).strip() == "304"

    # The worker's part, done here: the job finishes with a variant.
    Generation.objects.filter(pk=job.pk).update(status="done")
    variant = SuggestionFactory(generation=job, position=0, caption="Cat nap", hashtags=["#cat"])
    assert run(poll_again, tmp_path, **env).strip() == "200"
    env["VARIANT"] = str(variant.pk)
    assert json.loads(run(favourite, tmp_path, **env))["favourite"] is True

    results = json.loads(run(history, tmp_path, **env))["results"]
    assert [p["id"] for p in results] == [str(photo.uuid)]
    assert json.loads(run(me, tmp_path, **env))["quota"]["used"] == 1
