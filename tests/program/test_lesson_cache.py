"""The member's lesson page keeps what is the same for everyone (the lesson, its neighbours, the
HTML of its instructions, player and transcript, a thread's approved comments) under the content
version, and reads everything personal (access, working side, progress, the member's comments
awaiting review, the CSRF token) on every request."""

import pickle
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from comments.models import Comment
from core import pagecache
from program.practice.services import journal_entry_create, lesson_mark_practised
from program.practice.today import COMFORT_SESSION_KEY
from program.services import access_grant, access_revoke
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesson(program):
    found = program.units.get(position=2).lessons.first()
    found.uses_working_side = True
    found.instructions = "Lie on your back and breathe."
    found.save()
    return found


def _url(lesson):
    return reverse("program:lesson", args=[lesson.unit.program.slug, lesson.unit.slug, lesson.slug])


def _member_with_access(program, **extra):
    user = factories.user_factory(**extra)
    access_grant(user=user, program=program, source="purchase", reason="test")
    return user


def _stored(lesson) -> bytes:
    """What `pagecache.versioned` keeps for the lesson page (its content with the HTML, and its
    thread's first page), pickled as the cache stores it."""
    slugs = f"{lesson.unit.program.slug}/{lesson.unit.slug}/{lesson.slug}"
    keys = [f"versioned:lesson:{slugs}:html", f"versioned:thread:lesson:{lesson.pk}:1"]
    found = cache.get_many(keys)
    assert f"versioned:lesson:{slugs}:html" in found
    return b"".join(pickle.dumps(value) for value in found.values())


def test_a_staff_edit_shows_at_the_next_request(client, program, lesson):
    client.force_login(_member_with_access(program))
    assert "breathe." in client.get(_url(lesson)).text
    lesson.instructions = "Lie on your side and rest."
    lesson.save()
    html = client.get(_url(lesson)).text
    assert "Lie on your side and rest." in html and "breathe." not in html


def test_a_queryset_update_followed_by_content_changed_shows_too(client, program, lesson):
    client.force_login(_member_with_access(program))
    client.get(_url(lesson))
    type(lesson).objects.filter(pk=lesson.pk).update(title="Renamed by a bulk update")
    pagecache.content_changed()
    assert "Renamed by a bulk update" in client.get(_url(lesson)).text


def test_access_is_read_on_every_request(client, program, lesson):
    member = _member_with_access(program)
    client.force_login(member)
    assert "How to do it" in client.get(_url(lesson)).text  # open, and now cached
    access_revoke(user=member, program=program, source="refund", reason="test")
    html = client.get(_url(lesson)).text
    assert "This lesson is part of the full program" in html
    assert "How to do it" not in html and "breathe." not in html


def test_each_member_gets_their_own_panel_and_nothing_personal_is_stored(client, program, lesson):
    first = _member_with_access(program, name="Ada Lovelace")
    journal_entry_create(user=first, program=program, side="left")
    lesson_mark_practised(user=first, lesson=lesson)
    client.force_login(first)
    html = client.get(_url(lesson)).text
    assert "Work on your <strong>LEFT</strong> side today" in html
    assert "Practised 1 time" in html

    second = _member_with_access(program)
    client.force_login(second)
    html = client.get(_url(lesson)).text
    assert "LEFT" not in html and "Practised 1 time" not in html
    assert "Not practised yet" in html and "Record a self-assessment" in html

    stored = _stored(lesson)
    assert b"breathe." in stored  # the lesson's HTML is kept ...
    for personal in (b"LEFT", b"Practised", b"csrf", b"Ada Lovelace", first.email.encode()):
        assert personal not in stored  # ... and nothing of one member's


def test_a_members_comment_awaiting_review_shows_to_them_only(client, program, lesson):
    author = _member_with_access(program, name="Grace Hopper")
    other = _member_with_access(program)
    factories.comment_factory(target=lesson, body="An approved question")
    client.force_login(other)
    assert "An approved question" in client.get(_url(lesson)).text  # everyone's page, cached
    # Stored without save() (no signal, the content version stays): the thread everyone sees is
    # still the cached one, yet its author sees it, because their page is read, not the cache's.
    Comment.objects.bulk_create(
        [Comment(author=author, lesson=lesson, body="My question awaits", status="pending")]
    )
    client.force_login(author)
    html = client.get(_url(lesson)).text
    assert "My question awaits" in html and "Awaiting review" in html
    assert "An approved question" in html
    client.force_login(other)
    assert "My question awaits" not in client.get(_url(lesson)).text
    assert b"My question awaits" not in _stored(lesson)
    assert b"Grace Hopper" not in _stored(lesson)


def test_a_commenters_new_name_and_a_deleted_account_show_at_the_next_request(
    client, program, lesson
):
    """Cached pages show comments' authors: a name changed (in the admin) or an account deleted
    with its comments kept ("A former member") shows on the next request, never the old name."""
    from members.privacy import account_delete

    author = _member_with_access(program, name="Margaret Quill")
    factories.comment_factory(target=lesson, author=author, body="Does this help the hip?")
    client.force_login(_member_with_access(program))
    assert "Margaret Quill" in client.get(_url(lesson)).text  # now cached under the version

    author.name = "Meg Quill"
    author.save(update_fields=["name"])
    html = client.get(_url(lesson)).text
    assert "Meg Quill" in html and "Margaret Quill" not in html

    account_delete(user=author, comments="keep")
    html = client.get(_url(lesson)).text
    assert "Meg Quill" not in html and "A former member" in html


def test_a_sign_in_leaves_the_cached_pages_alone(program, lesson):
    """Only what a comment shows of its author replaces the version: a sign-in (last_login)
    does not empty every cached page."""
    author = _member_with_access(program, name="Margaret Quill")
    factories.comment_factory(target=lesson, author=author)
    before = pagecache.content_version()
    from django.utils import timezone

    author.last_login = timezone.now()
    author.save(update_fields=["last_login"])
    assert pagecache.content_version() == before
    author.name = "Meg"
    author.save()
    assert pagecache.content_version() != before


def _frame(lesson, path: str, comfort: bool = False) -> tuple[str, str]:
    """The member page's frame kept for this lesson (program.views._member_page): (mark, HTML)."""
    slugs = f"{lesson.unit.program.slug}/{lesson.unit.slug}/{lesson.slug}"
    _, content = cache.get(f"versioned:lesson:{slugs}:html")
    stored = cache.get(f"lesson-frame:{content.stamp}:{comfort:d}:{path}")
    assert stored is not None
    return stored


def _tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)) | set(
        re.findall(r'data-csrf="([^"]+)"', html)
    )


def test_the_member_page_frame_is_shared_and_holds_nothing_of_a_members(program, lesson):
    """The header, navigation and footer are kept once for every member; each member's page
    names them (the offline script's user id) and carries this request's CSRF token, and the
    personal part (working side, progress) is theirs; the frame holds none of it."""
    first = _member_with_access(program, name="Ada Lovelace")
    journal_entry_create(user=first, program=program, side="left")
    lesson_mark_practised(user=first, lesson=lesson)
    ada = Client()
    ada.force_login(first)
    html = ada.get(_url(lesson)).text
    assert f'data-user="{first.pk}"' in html and "Sign out" in html
    assert "Work on your <strong>LEFT</strong> side today" in html
    mark, frame = _frame(lesson, _url(lesson))
    assert f"{mark}-open" in frame and f"{mark}-csrf" in frame  # the frame's marks ...
    assert "Sign out" in frame and "breathe." not in frame  # ... around the lesson's heading
    for personal in (
        "LEFT",
        "Practised",
        "Ada Lovelace",
        first.email,
        f'data-user="{first.pk}"',
        *_tokens(html),
    ):
        assert personal not in frame

    second = _member_with_access(program)
    grace = Client()
    grace.force_login(second)
    html = grace.get(_url(lesson)).text
    assert _frame(lesson, _url(lesson))[0] == mark  # the same frame, not rendered again
    assert f'data-user="{second.pk}"' in html and f'data-user="{first.pk}"' not in html
    assert "LEFT" not in html and "Not practised yet" in html and mark not in html


def test_the_member_pages_csrf_tokens_are_this_requests_and_valid(program, lesson):
    from program.practice.services import safety_acknowledge

    member = _member_with_access(program)
    safety_acknowledge(user=member)
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    client.get(_url(lesson))  # the frame is now kept
    html = client.get(_url(lesson)).text
    tokens = _tokens(html)
    assert tokens and not any("frame-" in token for token in tokens)
    practised = reverse("program:lesson-practised", args=[lesson.pk])
    for token in tokens:  # the frame's (sign-out form, offline script) and the panel's
        response = client.post(practised, {"csrfmiddlewaretoken": token})
        assert response.status_code == 302


def test_a_message_and_the_larger_text_show_on_the_members_page(program, lesson):
    """A page with a message is rendered whole (the message shows once); the larger-text choice
    is part of the frame's key."""
    from program.practice.services import safety_acknowledge

    member = _member_with_access(program)
    safety_acknowledge(user=member)
    client = Client()
    client.force_login(member)
    assert 'class="comfort' not in client.get(_url(lesson)).text  # the plain frame is kept
    response = client.post(
        reverse("program:lesson-practised", args=[lesson.pk]), {"next": _url(lesson)}, follow=True
    )
    assert response.status_code == 200
    assert 'class="message message-success"' in response.text
    assert "message-success" not in client.get(_url(lesson)).text  # shown once
    session = client.session
    session[COMFORT_SESSION_KEY] = True  # the member's larger-text choice
    session.save()
    assert '<body class="comfort ' in client.get(_url(lesson)).text
    _frame(lesson, _url(lesson), comfort=True)
