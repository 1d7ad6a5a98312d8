"""The site's name is one setting, read by pages, emails and the admin."""

import pytest
from django.core import mail
from django.urls import reverse

from comments.models import Comment
from tests import factories

pytestmark = pytest.mark.django_db


def test_pages_show_the_site_name_setting(client, settings):
    settings.SITE_NAME = "Calm Joints"
    assert "Calm Joints" in client.get(reverse("home")).content.decode()


def test_emails_show_the_site_name_setting(settings):
    from comments.tasks import notify_staff_of_pending

    settings.SITE_NAME = "Calm Joints"
    settings.STAFF_NOTIFICATION_EMAILS = ["staff@example.com"]
    comment = factories.comment_factory(status=Comment.Status.PENDING)
    notify_staff_of_pending.call(comment.pk)
    assert mail.outbox[0].subject.startswith("[Calm Joints] ")


def test_the_admin_header_is_the_site_name(admin_client, settings):
    settings.SITE_NAME = "Calm Joints"
    assert "Calm Joints: staff" in admin_client.get(reverse("admin:index")).content.decode()
