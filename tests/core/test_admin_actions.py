"""An admin action posted with ids that are not ids (a staff member's hand-made POST) is a
message on the list, never a 500, and runs on nothing (issue 17, defect 10)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

BAD_IDS = [["x"], ["1", "x"], ["²"], [""], ["1.5"], ["\x00"], ["9" * 40]]


def _admins_with_actions(request):
    for model, model_admin in admin.site._registry.items():
        if model_admin.get_actions(request):
            yield model, model_admin


@pytest.fixture
def boss(client):
    user = factories.user_factory(email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("ids", BAD_IDS)
def test_every_admin_action_with_ids_that_are_not_ids_shows_a_message(client, boss, rf, ids):
    request = rf.get("/")
    request.user = boss
    checked = 0
    for model, model_admin in _admins_with_actions(request):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        action = next(iter(model_admin.get_actions(request)))
        response = client.post(
            url, {"action": action, "_selected_action": ids, "index": "0"}, follow=True
        )
        assert response.status_code == 200, (url, action, ids)
        shown = [str(message) for message in response.context["messages"]]
        assert any("not valid" in text for text in shown), (url, shown)
        checked += 1
    assert checked >= 5


def test_a_valid_action_still_runs(client, boss):
    question = factories.comment_factory(status="pending")
    response = client.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "delete_selected", "_selected_action": [str(question.pk)]},
    )
    assert response.status_code == 200  # Django's "are you sure?" page
    assert "Are you sure" in response.content.decode()
