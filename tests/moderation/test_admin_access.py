"""Only staff reach the admin: every admin URL of this app sends anyone else to the admin login."""

from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from captions.models import BannedHashtag, ModerationAction, Photo, Report
from captions.services.moderation import photo_flag, report_create
from tests.moderation.conftest import finished_generation, stored_photo

ADMIN_LOGIN = reverse("admin:login")


@pytest.fixture
def objects(alice, moderator):
    from captions.services.tokens import token_create

    """One object of each kind the admin shows, so change pages exist."""
    photo = stored_photo(alice)
    generation = finished_generation(photo)
    report = report_create(photo=photo, reporter=alice, reason=Report.Reason.WRONG, generation=generation)
    photo_flag(photo=photo, reason="test")
    return {
        Photo: photo.pk,
        "moderationqueueitem": photo.pk,
        "generation": generation.pk,
        Report: report.pk,
        BannedHashtag: BannedHashtag.objects.first().pk,
        ModerationAction: ModerationAction.objects.create(
            actor=moderator, action="photo_hide", target_type="captions.photo", target_id="1", target_repr="x"
        ).pk,
        "user": alice.pk,
        "personalaccesstoken": token_create(user=alice, name="scheduler", expires_in_days=None)[0].pk,
    }


def admin_urls(objects) -> list[str]:
    """Changelists, add, change, delete and history pages, and the decision pages, of
    every model this app registers, and of users."""
    registered = [
        model
        for model in admin.site._registry
        if model._meta.app_label == "captions" or model is get_user_model()
    ]
    assert {m._meta.model_name for m in registered} >= {
        "photo",
        "moderationqueueitem",
        "generation",
        "report",
        "bannedhashtag",
        "moderationaction",
        "user",
    }
    urls = [reverse("admin:index"), reverse("admin:app_list", args=["captions"])]
    for model in registered:
        name = model._meta.model_name
        pk = objects.get(model) or objects.get(name)
        prefix = f"admin:{model._meta.app_label}_{name}"
        urls += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
        urls += [reverse(f"{prefix}_{page}", args=[pk]) for page in ("change", "delete", "history")]
        if name in ("photo", "moderationqueueitem"):
            urls += [
                reverse(f"{prefix}_decide", args=[pk, decision])
                for decision in ("hide", "restore", "mark_reviewed", "delete_photos")
            ]
    return urls


def assert_sent_to_admin_login(response, url):
    assert response.status_code == 302, url
    target = urlsplit(response["Location"])
    assert target.path == ADMIN_LOGIN, url


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "non_staff"])
def test_every_admin_url_sends_non_staff_and_anonymous_to_the_admin_login(who, objects, client, alice_client):
    browser = client if who == "anonymous" else alice_client
    for url in admin_urls(objects):
        assert_sent_to_admin_login(browser.get(url), url)
        assert_sent_to_admin_login(browser.post(url, {"confirm": "yes", "reason": "x"}), url)


@pytest.mark.django_db
def test_non_staff_cannot_run_an_admin_action(objects, alice_client):
    photo_pk = objects[Photo]
    for model in ("photo", "moderationqueueitem"):
        response = alice_client.post(
            reverse(f"admin:captions_{model}_changelist"),
            {"action": "hide", "_selected_action": [photo_pk], "confirm": "yes", "reason": "spam"},
        )
        assert_sent_to_admin_login(response, model)
    response = alice_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "ban_users", "_selected_action": [objects["user"]], "confirm": "yes", "reason": "spam"},
    )
    assert_sent_to_admin_login(response, "user")
    assert Photo.objects.get(pk=photo_pk).hidden_at is None
    assert get_user_model().objects.get(pk=objects["user"]).is_active
    assert not ModerationAction.objects.exclude(actor__username="mia").exists()


@pytest.mark.django_db
def test_staff_without_permissions_is_refused(objects, staff_client):
    for model in ("photo", "moderationqueueitem", "moderationaction", "bannedhashtag"):
        assert staff_client.get(reverse(f"admin:captions_{model}_changelist")).status_code == 403
    decide = reverse("admin:captions_photo_decide", args=[objects[Photo], "hide"])
    assert staff_client.post(decide, {"confirm": "yes", "reason": "x"}).status_code == 403
    assert Photo.objects.get(pk=objects[Photo]).hidden_at is None


@pytest.mark.django_db
def test_moderator_reaches_every_page_meant_for_them(objects, moderator_client):
    for name in ("photo", "moderationqueueitem", "generation", "report", "bannedhashtag", "moderationaction"):
        assert moderator_client.get(reverse(f"admin:captions_{name}_changelist")).status_code == 200, name
    for key, name in ((Photo, "photo"), ("generation", "generation"), (Report, "report")):
        url = reverse(f"admin:captions_{name}_change", args=[objects[key]])
        assert moderator_client.get(url).status_code == 200, name
    assert moderator_client.get(reverse("admin:auth_user_change", args=[objects["user"]])).status_code == 200


@pytest.mark.django_db
def test_the_audit_trail_is_read_only_even_for_moderators(objects, moderator_client):
    pk = objects[ModerationAction]
    assert moderator_client.get(reverse("admin:captions_moderationaction_add")).status_code == 403
    assert (
        moderator_client.post(reverse("admin:captions_moderationaction_delete", args=[pk])).status_code == 403
    )
    change = reverse("admin:captions_moderationaction_change", args=[pk])
    assert moderator_client.get(change).status_code == 200  # a read-only view
    assert moderator_client.post(change, {"reason": "rewritten"}).status_code == 403
    response = moderator_client.post(
        reverse("admin:captions_moderationaction_changelist"),
        {"action": "delete_selected", "_selected_action": [pk], "post": "yes"},
    )
    assert ModerationAction.objects.filter(pk=pk, reason="").exists()
    assert response.status_code in (200, 302)


# Permissions, not flags: what staff may see is what their permissions say, from a two-factor session


@pytest.mark.django_db
def test_staff_without_permissions_see_nothing_on_any_admin_url(objects, staff_client):
    before = (Photo.objects.filter(hidden_at__isnull=False).count(), ModerationAction.objects.count())
    index = staff_client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert index.context["app_list"] == []
    for url in admin_urls(objects)[1:]:
        assert staff_client.get(url, follow=True).status_code in (403, 404), url
        response = staff_client.post(url, {"confirm": "yes", "reason": "x"}, follow=True)
        assert response.status_code in (403, 404), url
    assert (Photo.objects.filter(hidden_at__isnull=False).count(), ModerationAction.objects.count()) == before


@pytest.mark.django_db
def test_a_moderator_session_without_the_second_factor_is_sent_to_the_admin_login(objects, moderator):
    client = Client()
    client.force_login(moderator, backend="django.contrib.auth.backends.ModelBackend")  # password only
    for url in admin_urls(objects):
        assert_sent_to_admin_login(client.get(url), url)


@pytest.mark.django_db
def test_the_moderator_group_holds_the_moderation_permissions_and_no_more():
    group = Group.objects.get(name="moderator")
    codenames = {(p.content_type.app_label, p.codename) for p in group.permissions.all()}
    photos = {("captions", f"{action}_photo") for action in ("view", "change", "delete")}
    assert photos <= codenames
    assert ("captions", "view_moderationqueueitem") in codenames
    assert {("auth", "view_user"), ("auth", "change_user")} <= codenames
    assert not {app for app, _ in codenames} - {"captions", "auth"}
    assert {code for app, code in codenames if app == "auth"} == {"view_user", "change_user"}


@pytest.mark.django_db
def test_a_moderator_cannot_make_themselves_or_anyone_a_superuser(moderator, moderator_client, alice):
    url = reverse("admin:auth_user_change", args=[alice.pk])
    form = moderator_client.get(url).context["adminform"].form
    assert not {"is_superuser", "is_staff", "groups", "user_permissions"} & set(form.fields)
    own = reverse("admin:auth_user_change", args=[moderator.pk])
    data = {"username": "mia", "is_superuser": "on", "is_staff": "on", "date_joined_0": "2026-01-01"}
    moderator_client.post(own, data)
    moderator.refresh_from_db()
    assert not moderator.is_superuser


@pytest.mark.django_db
def test_a_moderator_cannot_change_staff_accounts_or_anyones_password(moderator_client, alice):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 20)
    change = moderator_client.post(reverse("admin:auth_user_change", args=[root.pk]), {"username": "owned"})
    assert change.status_code == 403
    for user in (root, alice):
        url = reverse("admin:auth_user_password_change", args=[user.pk])
        assert moderator_client.post(url, {"password1": "p" * 20, "password2": "p" * 20}).status_code == 403
    root.refresh_from_db()
    assert root.username == "root" and root.check_password("x" * 20)
