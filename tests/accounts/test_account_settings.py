"""The account and security settings read from the environment, and their defaults."""

import json

from tests.test_settings import clean_env, production, run

SHOW = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "verification": settings.ACCOUNT_EMAIL_VERIFICATION,
    "rates": settings.ACCOUNT_RATE_LIMITS,
    "cache": settings.CACHES["default"]["BACKEND"],
    "img_src": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"],
}))
"""


def show(env: dict[str, str]) -> dict:
    done = run(["-c", SHOW], {**env, "DJANGO_SETTINGS_MODULE": "hashtagapp.settings"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_email_verification_is_mandatory_in_production_and_optional_in_development(tmp_path):
    assert show(production(tmp_path))["verification"] == "mandatory"
    assert show(clean_env(tmp_path, DEBUG="1"))["verification"] == "optional"
    assert show(production(tmp_path, ACCOUNT_EMAIL_VERIFICATION="optional"))["verification"] == "optional"


def test_a_misspelt_verification_setting_stops_the_start(tmp_path):
    done = run(["manage.py", "check"], production(tmp_path, ACCOUNT_EMAIL_VERIFICATION="mandatry"))
    assert done.returncode != 0
    assert "ACCOUNT_EMAIL_VERIFICATION must be mandatory, optional or none" in done.stderr


def test_rate_limits_come_from_the_environment_and_a_malformed_one_stops_the_start(tmp_path):
    rates = show(production(tmp_path, RATE_LIMIT_UPLOAD="3/5m/user,9/h/ip"))["rates"]
    assert rates["upload"] == "3/5m/user,9/h/ip"
    assert rates["signup"] == "10/h/ip"
    done = run(["manage.py", "check"], production(tmp_path, RATE_LIMIT_REPORT="ten per minute"))
    assert done.returncode != 0
    assert "RATE_LIMIT_REPORT must look like 10/m/user,30/m/ip" in done.stderr


def test_cache_url_selects_a_shared_cache(tmp_path):
    assert show(production(tmp_path))["cache"].endswith("LocMemCache")
    shared = show(production(tmp_path, CACHE_URL="redis://127.0.0.1:6379/1"))["cache"]
    assert shared == "django.core.cache.backends.redis.RedisCache"


def test_media_in_a_bucket_is_allowed_as_an_image_source(tmp_path):
    env = production(
        tmp_path, AWS_STORAGE_BUCKET_NAME="media", AWS_S3_ENDPOINT_URL="https://s3.eu-west-1.amazonaws.com"
    )
    assert show(env)["img_src"] == [
        "'self'",
        "data:",
        "blob:",
        "https://s3.eu-west-1.amazonaws.com",
        "https://*.s3.eu-west-1.amazonaws.com",
    ]


def test_sign_up_can_only_be_limited_per_address(tmp_path):
    done = run(["manage.py", "check"], production(tmp_path, RATE_LIMIT_SIGNUP="5/h/user"))
    assert done.returncode != 0
    assert "RATE_LIMIT_SIGNUP must look like 10/h/ip" in done.stderr
