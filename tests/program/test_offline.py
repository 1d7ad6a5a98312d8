"""The offline practice pack's server side: manifest, service worker, offline page, what a unit's
copy holds, which copies a member may keep, and actions sent once from the offline queue."""

import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from program.models import JournalEntry, Lesson, LessonProgress, OfflineAction
from program.practice.services import safety_acknowledge
from program.services import access_grant, access_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def paying(member, program):
    access_grant(user=member, program=program, source="purchase", reason="test")
    safety_acknowledge(user=member)
    return member


def test_manifest_and_service_worker_make_the_site_installable(client):
    manifest = client.get(reverse("program:manifest"))
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["display"] == "standalone" and data["start_url"] == "/"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/"
    assert worker["Cache-Control"] == "no-cache"
    assert b'const OFFLINE_URL = "/offline/"' in worker.content
    offline = client.get(reverse("program:offline"))
    assert offline.status_code == 200
    assert b"What works without a connection" in offline.content
    home = client.get("/").content.decode()
    assert 'rel="manifest"' in home and "js/offline.js" in home


def test_offline_page_names_no_member(client, member):
    client.force_login(member)
    page = client.get(reverse("program:offline")).content.decode()
    assert member.email not in page
    assert "data-user=" not in page  # offline.js reads the member from the device instead
    assert "csrfmiddlewaretoken" not in page and "data-csrf" not in page
    assert "Sign in" in page


def test_unit_pack_lists_pages_media_and_sizes_for_a_member_only(
    client, paying, user_factory, program, video_factory
):
    video = video_factory(audio=True)
    unit = program.units.get(position=2)
    Lesson.objects.filter(unit=unit).update(video=video)
    url = reverse("program:offline-pack", args=[unit.pk])
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    client.force_login(user_factory())
    assert client.get(url).status_code == 404  # no access
    client.force_login(paying)
    data = client.get(url).json()
    assert data["user"] == paying.pk
    assert len(data["lessons"]) == unit.lessons.count()
    lesson = data["lessons"][0]
    assert lesson["audio"]["url"] == reverse("program:media", args=[video.pk, "audio"])
    assert lesson["audio"]["bytes"] > 0
    # No ladder yet: the MP4 itself is the video choice.
    assert lesson["video"] == {
        "url": reverse("program:media", args=[video.pk, "video"]),
        "bytes": video.size_bytes,
    }
    assert reverse("program:media", args=[video.pk, "captions"]) in lesson["files"]


def test_keep_check_drops_lessons_after_a_refund_and_keeps_nothing_for_a_visitor(
    client, paying, program
):
    free = program.units.get(position=1).lessons.first()
    paid = program.units.get(position=2).lessons.first()
    # "²" passes str.isdigit() but not int(); twenty 9s overflow a bigint: both are ignored.
    url = f"{reverse('program:offline-keep')}?lessons={free.pk},{paid.pk},999999,x,²,{'9' * 20}"
    assert client.get(url).json() == {"user": None, "keep": []}
    client.force_login(paying)
    assert client.get(url).json() == {"user": paying.pk, "keep": sorted([free.pk, paid.pk])}
    access_revoke(user=paying, program=program, source="refund", reason="refunded")
    assert client.get(url).json() == {"user": paying.pk, "keep": [free.pk]}


def _send(client, **item):
    return client.post(
        reverse("program:offline-sync"), json.dumps(item), content_type="application/json"
    )


def test_a_queued_journal_entry_sent_twice_is_recorded_once(client, paying, program):
    client.force_login(paying)
    item = {
        "client_id": str(uuid.uuid4()),
        "kind": "journal",
        "program": program.slug,
        "side": "left",
        "pain": 4,
        "note": "written on the train",
        "done_at": 1_796_000_000_000,
    }
    assert _send(client, **item).json() == {"status": "recorded"}
    assert _send(client, **item).json() == {"status": "duplicate"}
    entry = JournalEntry.objects.get(user=paying)
    assert (entry.side, entry.pain, entry.note) == ("left", 4, "written on the train")
    assert OfflineAction.objects.filter(user=paying).count() == 1


def test_queued_practised_and_skip_marks_are_recorded_once(client, paying, program):
    client.force_login(paying)
    lesson = program.units.get(position=2).lessons.first()
    practised = {"client_id": str(uuid.uuid4()), "kind": "practised", "lesson": lesson.pk}
    for _ in range(3):
        _send(client, **practised)
    assert LessonProgress.objects.get(user=paying, lesson=lesson).times_practised == 1
    skip = {"client_id": str(uuid.uuid4()), "kind": "skip", "lesson": lesson.pk}
    assert _send(client, **skip).json() == {"status": "recorded"}
    assert LessonProgress.objects.get(user=paying, lesson=lesson).state == "skipped"


def test_another_member_may_use_the_same_client_id_without_clashing(
    client, paying, program, user_factory
):
    other = user_factory()
    safety_acknowledge(user=other)
    client_id = str(uuid.uuid4())
    client.force_login(paying)
    item = {"client_id": client_id, "kind": "journal", "program": program.slug, "side": "right"}
    assert _send(client, **item).json() == {"status": "recorded"}
    second = Client()
    second.force_login(other)
    assert _send(second, **item).json() == {"status": "recorded"}
    assert JournalEntry.objects.count() == 2


@pytest.mark.parametrize(
    "item",
    [
        {"kind": "journal", "side": "left"},  # no client id
        {"client_id": "not-a-uuid", "kind": "journal", "side": "left"},
        {"client_id": str(uuid.uuid4()), "kind": "delete-everything"},
        {"client_id": str(uuid.uuid4()), "kind": "journal", "program": "x", "side": "left"},
        {"client_id": str(uuid.uuid4()), "kind": "journal", "side": "up"},
        {"client_id": str(uuid.uuid4()), "kind": "journal", "side": "left", "pain": 11},
        {"client_id": str(uuid.uuid4()), "kind": "journal", "side": "left", "pain": "-1"},
        {"client_id": str(uuid.uuid4()), "kind": "practised", "lesson": "abc"},
        {"client_id": str(uuid.uuid4()), "kind": "practised", "lesson": 999999},
    ],
)
def test_bad_queued_actions_get_400_and_change_nothing(client, paying, program, item):
    client.force_login(paying)
    if item.get("kind") == "journal" and "program" not in item:
        item = {**item, "program": program.slug}
    response = _send(client, **item)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid"
    assert not JournalEntry.objects.exists()
    assert not OfflineAction.objects.exists()


def test_a_refunded_member_cannot_mark_paid_lessons_offline(client, paying, program):
    lesson = program.units.get(position=2).lessons.first()
    access_revoke(user=paying, program=program, source="refund", reason="refunded")
    client.force_login(paying)
    item = {"client_id": str(uuid.uuid4()), "kind": "practised", "lesson": lesson.pk}
    assert _send(client, **item).status_code == 400
    assert not LessonProgress.objects.filter(user=paying, lesson=lesson).exists()


def test_sync_needs_a_signed_in_member_and_csrf(paying, program):
    item = {"client_id": str(uuid.uuid4()), "kind": "journal", "program": program.slug}
    assert _send(Client(), **item).status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(paying)
    assert _send(strict, **item, side="left").status_code == 403
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Concurrent deliveries need PostgreSQL's unique index waits; SQLite serialises writes.",
)
def test_the_same_queued_action_sent_from_two_tabs_at_once_is_recorded_once(program):
    import threading

    from program.offline.services import offline_action_record
    from tests import factories

    member = factories.user_factory()
    access_grant(user=member, program=program, source="purchase", reason="test")
    lesson = program.units.get(position=2).lessons.first()
    client_id = uuid.uuid4()
    barrier = threading.Barrier(4)
    results, errors = [], []

    def send():
        try:
            barrier.wait()
            results.append(
                offline_action_record(
                    user=member, client_id=client_id, kind="practised", lesson=lesson
                ).recorded
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results) == [False, False, False, True]
    assert LessonProgress.objects.get(user=member, lesson=lesson).times_practised == 1
    assert OfflineAction.objects.filter(user=member).count() == 1
