import time

import pytest
from django.apps import apps

from core.models import TimeStamped
from tests import factories

pytestmark = pytest.mark.django_db


def test_timestamped_is_abstract_with_the_two_times():
    assert TimeStamped._meta.abstract
    created = TimeStamped._meta.get_field("created_at")
    updated = TimeStamped._meta.get_field("updated_at")
    assert created.auto_now_add and not created.auto_now and not created.db_index
    assert updated.auto_now and not updated.auto_now_add and not updated.db_index


def test_created_at_stays_and_updated_at_moves_on_save():
    user = factories.user_factory(email="t@example.com")
    created, updated = user.created_at, user.updated_at
    time.sleep(0.01)
    user.name = "T"
    user.save()
    user.refresh_from_db()
    assert user.created_at == created and user.updated_at > updated


@pytest.mark.parametrize(
    "label",
    [
        "accounts.User",
        "billing.Purchase",
        "billing.RefundRequest",
        "billing.Refund",
        "billing.Dispute",
        "comments.Comment",
    ],
)
def test_the_sites_records_take_their_times_from_timestamped(label):
    assert issubclass(apps.get_model(label), TimeStamped)
