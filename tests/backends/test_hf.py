import json
import subprocess
import sys
import urllib.request

import pytest

from captions.backends.base import BackendError
from captions.backends.hf import HFCaptioner

TOKEN = "hf_SecretTestToken123"


@pytest.fixture
def captioner(hf_server):
    return HFCaptioner(
        model="Salesforce/blip-image-captioning-base", endpoint_url=hf_server.url, token=TOKEN, timeout=2
    )


def test_captions_each_image_through_the_endpoint(captioner, hf_server, photo):
    captions = captioner.caption([photo("cat"), photo("coffee")])

    assert captions == ["a cat sitting on a sofa", "a cat sitting on a sofa"]
    request = hf_server.requests[-1]
    assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert request["body_size"] > 1000


def test_model_name_is_the_model_not_the_url(captioner):
    assert captioner.model_name == "Salesforce/blip-image-captioning-base"


def test_rate_limit_is_retryable_with_retry_after(captioner, hf_server, photo):
    hf_server.fail_next("429")

    with pytest.raises(BackendError) as caught:
        captioner.caption([photo("cat")])

    assert caught.value.retryable is True
    assert caught.value.retry_after == 7
    assert "429" in caught.value.message


def test_model_loading_is_retryable_after_the_estimated_time(captioner, hf_server, photo):
    hf_server.estimated_time = 42.5
    hf_server.fail_next("503")

    with pytest.raises(BackendError) as caught:
        captioner.caption([photo("cat")])

    assert caught.value.retryable is True
    assert caught.value.retry_after == 42.5
    assert "loading" in caught.value.message


def test_server_error_is_retryable(captioner, hf_server, photo):
    hf_server.fail_next("500")

    with pytest.raises(BackendError) as caught:
        captioner.caption([photo("cat")])

    assert caught.value.retryable is True


def test_client_does_not_retry_by_itself(captioner, hf_server, photo):
    hf_server.fail_next("503", times=3)

    with pytest.raises(BackendError):
        captioner.caption([photo("cat")])

    assert len(hf_server.requests) == 1


def test_rejected_token_is_permanent_and_never_shown(captioner, hf_server, photo):
    hf_server.token = "hf_the_right_one"

    with pytest.raises(BackendError) as caught:
        captioner.caption([photo("cat")])

    error = caught.value
    assert error.retryable is False
    assert "401" in error.message
    assert TOKEN not in error.message
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error.__cause__)


@pytest.mark.parametrize(
    ("mode", "status"), [("forbidden", "403"), ("not_found", "404"), ("bad_request", "400")]
)
def test_client_errors_are_permanent(mode, status, captioner, hf_server, photo):
    hf_server.fail_next(mode)

    with pytest.raises(BackendError) as caught:
        captioner.caption([photo("cat")])

    assert caught.value.retryable is False
    assert status in caught.value.message


def test_timeout_is_retryable(hf_server, photo):
    captioner = HFCaptioner(model="m", endpoint_url=hf_server.url, token=TOKEN, timeout=0.3)
    hf_server.fail_next("hang")

    with pytest.raises(BackendError) as caught:
        captioner.caption([photo("cat")])

    assert caught.value.retryable is True
    assert "timed out" in caught.value.message


def test_unreachable_endpoint_is_retryable(hf_server, photo):
    url = hf_server.url
    hf_server.stop()
    captioner = HFCaptioner(model="m", endpoint_url=url, token=TOKEN, timeout=1)

    with pytest.raises(BackendError) as caught:
        captioner.caption([photo("cat")])

    assert caught.value.retryable is True


def test_malformed_json_is_an_error(captioner, hf_server, photo):
    hf_server.fail_next("malformed")

    with pytest.raises(BackendError, match="gave no caption") as caught:
        captioner.caption([photo("cat")])

    assert caught.value.retryable is False


def test_fake_server_runs_as_a_standalone_process():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.hf_server", "--port", "0", "--caption", "a rocket at night"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().split(" on ")[-1].strip()
        control = urllib.request.Request(
            url + "_control", data=json.dumps({"next": ["429"]}).encode(), method="POST"
        )
        urllib.request.urlopen(control, timeout=5).close()
        captioner = HFCaptioner(model="m", endpoint_url=url, token=TOKEN, timeout=5)
        from PIL import Image

        image = Image.new("RGB", (8, 8))

        with pytest.raises(BackendError) as caught:
            captioner.caption([image])
        assert caught.value.retryable is True
        assert captioner.caption([image]) == ["a rocket at night"]
    finally:
        process.terminate()
        process.wait(timeout=5)
