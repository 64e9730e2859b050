"""Jobs: status and results, cheap polling with ETags, new runs, favourite variants."""

import pytest
from django.urls import reverse

from captions.models import Generation, ModelCaption
from tests.api.conftest import assert_problem
from tests.factories import GenerationFactory, photo_for

pytestmark = pytest.mark.django_db


def job_url(job) -> str:
    return reverse("api:job", kwargs={"pk": job.pk})


def test_job_shows_status_each_sources_result_with_its_time_and_the_variants(alice_api, finished_job):
    body = alice_api.get(job_url(finished_job)).json()
    assert body["id"] == finished_job.pk
    assert body["status"] == "done" and body["status_label"] == "Done" and body["is_final"] is True
    assert body["photo_url"].endswith(f"/api/v1/photos/{finished_job.photo.uuid}/")
    assert body["options"] == {"platform": "instagram", "tone": "casual", "variants": 3, "language": "en"}
    sources = {row["source"]: row for row in body["sources"]}
    assert list(sources) == ["blip", "vit_gpt2", "tagger"]  # The safety score is for moderators only.
    assert sources["blip"] == {
        "source": "blip",
        "label": "BLIP",
        "status": "ok",
        "text": "a dog on a beach",
        "tags": [],
        "model": "blip",
        "seconds": 0.41,
        "error": None,
    }
    assert sources["tagger"]["tags"] == [{"label": "dog", "score": 0.9, "fine": "golden retriever"}]
    assert [v["caption"] for v in body["variants"]] == ["Beach day 0", "Beach day 1", "Beach day 2"]
    first = body["variants"][0]
    assert first["hashtags"] == ["#dog", "#beachlife"]
    assert first["post"] == "Beach day 0\n\n#dog #beachlife"
    assert first["length"] == len(first["post"])
    assert first["favourite"] is False
    assert "nsfw" not in str(body) and "0.01" not in str(body)


def test_a_job_in_flight_shows_pending_and_failed_sources(alice_api, alice):
    job = GenerationFactory(
        photo=photo_for(alice), status="captioning", sources=["blip", "vit_gpt2", "tagger"]
    )
    ModelCaption.objects.create(generation=job, source="vit_gpt2", status="failed", error="Endpoint said 401")
    body = alice_api.get(job_url(job)).json()
    assert body["is_final"] is False and body["variants"] == []
    sources = {row["source"]: row for row in body["sources"]}
    assert sources["blip"]["status"] == "pending" and sources["blip"]["seconds"] is None
    assert sources["vit_gpt2"]["status"] == "failed" and sources["vit_gpt2"]["error"] == "Endpoint said 401"
    assert sources["vit_gpt2"]["text"] is None


def test_polling_with_the_etag_answers_304_with_no_body_until_the_job_changes(alice_api, alice):
    job = GenerationFactory(photo=photo_for(alice), status="queued")
    first = alice_api.get(job_url(job))
    etag = first["ETag"]
    assert etag.startswith('"') and first["Cache-Control"] == "private, no-cache"

    again = alice_api.get(job_url(job), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert alice_api.get(job_url(job), HTTP_IF_NONE_MATCH=f'W/{etag}, "other"').status_code == 304

    Generation.objects.filter(pk=job.pk).update(status="captioning")
    changed = alice_api.get(job_url(job), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed.json()["status"] == "captioning"
    assert changed["ETag"] != etag


def test_a_new_favourite_changes_the_jobs_etag(alice_api, finished_job):
    etag = alice_api.get(job_url(finished_job))["ETag"]
    alice_api.post(reverse("api:variant_favourite", kwargs={"pk": finished_job.suggestions.first().pk}))
    assert alice_api.get(job_url(finished_job), HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_another_users_etag_guess_still_gets_404(bob_api, finished_job):
    assert_problem(bob_api.get(job_url(finished_job), HTTP_IF_NONE_MATCH="*"), 404, "No such job.")


# New runs


def test_run_starts_a_new_job_with_other_options(alice_api, finished_job):
    url = reverse("api:photo_runs", kwargs={"uuid": finished_job.photo.uuid})
    response = alice_api.post(url, {"platform": "linkedin", "tone": "professional"}, format="json")
    assert response.status_code == 202
    job = Generation.objects.exclude(pk=finished_job.pk).get()
    assert (job.platform, job.tone, job.variants, job.status) == ("linkedin", "professional", 3, "queued")
    assert response["Location"] == job_url(job)
    assert response.json()["id"] == job.pk and response.json()["status"] == "queued"


def test_run_with_invalid_options_says_so_like_the_page_and_starts_nothing(alice_api, finished_job):
    url = reverse("api:photo_runs", kwargs={"uuid": finished_job.photo.uuid})
    response = alice_api.post(url, {"tone": "grumpy", "variants": 0}, format="json")
    body = assert_problem(
        response, 400, "Those options are not valid: Tone: Select a valid choice.", "invalid"
    )
    assert body["errors"]["variants"] == ["Ensure this value is greater than or equal to 1."]
    assert Generation.objects.count() == 1


def test_run_accepts_a_form_encoded_body(alice_api, finished_job):
    url = reverse("api:photo_runs", kwargs={"uuid": finished_job.photo.uuid})
    response = alice_api.post(
        url, "platform=tiktok&variants=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 202
    assert Generation.objects.order_by("-id").first().platform == "tiktok"


def test_malformed_json_is_a_problem(alice_api, finished_job):
    url = reverse("api:photo_runs", kwargs={"uuid": finished_job.photo.uuid})
    response = alice_api.post(url, "{not json", content_type="application/json")
    assert_problem(response, 400, "JSON parse error", "parse_error")


# Favourites


def test_favourite_is_one_per_job_and_idempotent(alice_api, finished_job):
    first, second, _ = finished_job.suggestions.order_by("position")
    url = lambda s: reverse("api:variant_favourite", kwargs={"pk": s.pk})  # noqa: E731
    assert alice_api.post(url(first)).json()["favourite"] is True
    assert alice_api.post(url(first)).json()["favourite"] is True  # Twice is the same as once.
    assert alice_api.post(url(second)).json()["favourite"] is True
    assert list(finished_job.suggestions.filter(is_favourite=True)) == [second]
    assert alice_api.delete(url(second)).json()["favourite"] is False
    assert alice_api.delete(url(second)).status_code == 200
    assert not finished_job.suggestions.filter(is_favourite=True).exists()


def test_unknown_variant_is_404(alice_api):
    assert_problem(
        alice_api.post(reverse("api:variant_favourite", kwargs={"pk": 999999})), 404, "No such suggestion."
    )


# Errors in one shape everywhere under /api/


def test_unknown_path_is_a_problem_not_the_sites_html(alice_api):
    assert_problem(alice_api.get("/api/v1/nothing-here/"), 404, "No such API endpoint", "not_found")


def test_missing_trailing_slash_is_named(alice_api):
    body = assert_problem(alice_api.get("/api/v1/me"), 404)
    assert body["detail"] == "No such API endpoint. Paths end with a slash: /api/v1/me/"


def test_wrong_method_is_405_in_problem_form(alice_api):
    response = alice_api.put(reverse("api:me"), {}, format="json")
    assert_problem(response, 405, 'Method "PUT" not allowed.', "method_not_allowed")
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_an_unexpected_error_is_a_500_problem_without_details(alice_api, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database on fire: secret internals")

    monkeypatch.setattr("captions.api.views.account.quota_status", broken)
    body = assert_problem(alice_api.get(reverse("api:me")), 500, "Something went wrong on our side.")
    assert "secret" not in str(body)
