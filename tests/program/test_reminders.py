"""Practice reminders: sent only on unpractised days, once a day, across daylight saving; the
e-mail's check-in links (GET changes nothing, POST once, 48 hours); one-click unsubscribe; the
private calendar feed."""

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse

from program.models import DailyCheckIn, PracticeEvent, PracticePreference, ReminderSent
from program.practice import emails, services, tokens
from program.practice.calendar import practice_calendar

pytestmark = pytest.mark.django_db

LONDON = "Europe/London"  # BST starts Sunday 29 March 2026 at 01:00 UTC


@pytest.fixture
def reminded(member):
    return PracticePreference.objects.create(
        user=member,
        reminders_on=True,
        reminder_days=[0, 1, 2, 3, 4, 5, 6],
        reminder_time=time(8, 0),
        time_zone=LONDON,
    )


def _practised_at(user, lesson, moment):
    event = PracticeEvent.objects.create(user=user, lesson=lesson)
    PracticeEvent.objects.filter(pk=event.pk).update(created_at=moment)


def _at(*args):
    return datetime(*args, tzinfo=UTC)


def test_reminders_follow_local_time_across_daylight_saving_and_skip_practised_days(
    member, reminded, program
):
    lesson = program.units.first().lessons.first()
    # Saturday 28 March, GMT: 07:55 UTC is before 08:00 local, 08:00 UTC is 08:00 local.
    assert services.reminders_send_due(now=_at(2026, 3, 28, 7, 55)).sent == ()
    assert services.reminders_send_due(now=_at(2026, 3, 28, 8, 0)).sent == (member.pk,)
    # Five minutes later, the job again: never a second e-mail that day.
    assert services.reminders_send_due(now=_at(2026, 3, 28, 8, 5)).sent == ()
    # Sunday 29 March, BST: 08:00 local is 07:00 UTC.
    assert services.reminders_send_due(now=_at(2026, 3, 29, 6, 55)).sent == ()
    assert services.reminders_send_due(now=_at(2026, 3, 29, 7, 0)).sent == (member.pk,)
    assert services.reminders_send_due(now=_at(2026, 3, 29, 8, 0)).sent == ()
    # Monday 30 March: practised at 07:30 BST (06:30 UTC), so no reminder at 08:00 BST.
    _practised_at(member, lesson, _at(2026, 3, 30, 6, 30))
    run = services.reminders_send_due(now=_at(2026, 3, 30, 7, 0))
    assert run.sent == () and run.skipped_practised == (member.pk,)
    # Tuesday 31 March: practised late on Monday evening local time (23:30 BST = 22:30 UTC on
    # the 30th) does not count for Tuesday.
    _practised_at(member, lesson, _at(2026, 3, 30, 22, 30))
    assert services.reminders_send_due(now=_at(2026, 3, 31, 7, 0)).sent == (member.pk,)
    assert len(mail.outbox) == 3
    assert sorted(ReminderSent.objects.values_list("local_date", flat=True)) == [
        datetime(2026, 3, d).date() for d in (28, 29, 31)
    ]


def test_reminders_wait_for_the_chosen_weekdays_and_stop_hours_later(member, reminded):
    reminded.reminder_days = [0]  # Mondays
    reminded.save()
    assert services.reminders_send_due(now=_at(2026, 3, 31, 7, 0)).sent == ()  # a Tuesday
    assert services.reminders_send_due(now=_at(2026, 3, 30, 11, 0)).sent == ()  # 12:00 BST
    assert services.reminders_send_due(now=_at(2026, 3, 30, 9, 0)).sent == (member.pk,)


def test_a_skip_today_answer_also_stops_that_days_reminder(member, reminded):
    services.daily_check_in_record(
        user_id=member.pk, local_date=datetime(2026, 3, 28).date(), answer="skipped"
    )
    assert services.reminders_send_due(now=_at(2026, 3, 28, 8, 0)).sent == ()


def test_reminder_email_has_check_in_links_and_one_click_unsubscribe(member, reminded):
    services.reminders_send_due(now=_at(2026, 3, 28, 8, 0))
    (message,) = mail.outbox
    assert message.to == [member.email]
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and "/reminder/stop/" in unsubscribe
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/reminder/practised/" in message.body and "/reminder/skipped/" in message.body
    html = message.alternatives[0][0]
    assert "I practised today" in html and "Skip today" in html


def _check_in_path(member, answer="practised", now=None, day=None):
    day = day or datetime(2026, 3, 28).date()
    urls = emails.reminder_urls(user_id=member.pk, local_date=day, now=now)
    return urlsplit(urls["practised_url" if answer == "practised" else "skip_url"]).path


def test_check_in_get_changes_nothing_post_records_once_second_refused(client, member):
    path = _check_in_path(member)
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200
    assert not DailyCheckIn.objects.exists()
    response = client.post(path)
    assert response.status_code == 200
    assert "Well done" in response.content.decode()
    again = client.post(path)
    assert again.status_code == 409
    assert "Already noted" in again.content.decode()
    other = client.post(_check_in_path(member, answer="skipped"))
    assert other.status_code == 409
    (row,) = DailyCheckIn.objects.all()
    assert (row.user, row.answer) == (member, "practised")


def test_check_in_link_expires_after_48_hours_and_forged_links_do_nothing(client, member):
    old = datetime.now(UTC) - timedelta(hours=49)
    expired = client.post(_check_in_path(member, now=old))
    assert expired.status_code == 400
    assert "48 hours" in expired.content.decode()
    path = _check_in_path(member)
    forged = (
        path.replace(f"/{member.pk}:", "/999:") if f"/{member.pk}:" in path else path[:-3] + "xx/"
    )
    assert client.post(forged).status_code == 400
    assert client.post("/reminder/deleted/abc/").status_code == 404
    assert not DailyCheckIn.objects.exists()


def test_check_in_token_names_member_and_day():
    token = tokens.check_in_token_make(user_id=7, local_date=datetime(2026, 1, 2).date())
    check = tokens.check_in_token_check(token)
    assert (check.state, check.user_id, check.local_date) == (
        "valid",
        7,
        datetime(2026, 1, 2).date(),
    )
    assert tokens.check_in_token_check(token + "x").state == "bad"


def test_one_click_unsubscribe_post_stops_reminders_get_does_not(client, member, reminded):
    token = tokens.unsubscribe_token_make(user_id=member.pk)
    path = reverse("program:reminders-unsubscribe", args=[token])
    assert client.get(path).status_code == 200
    reminded.refresh_from_db()
    assert reminded.reminders_on
    # A mail program's one-click POST: no session, no CSRF token.
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    reminded.refresh_from_db()
    assert not reminded.reminders_on
    assert services.reminders_send_due(now=_at(2026, 3, 28, 8, 0)).sent == ()
    assert client.post(reverse("program:reminders-unsubscribe", args=["bad"])).status_code == 400


def test_settings_save_days_time_and_time_zone_and_refuse_a_bad_zone(client, member):
    client.force_login(member)
    url = reverse("program:practice-settings")
    bad = client.post(url, {"reminders_on": "on", "time_zone": "Mars/Base"})
    assert bad.status_code == 400
    page = bad.content.decode()
    assert "Choose at least one day" in page and "Choose a time" in page
    response = client.post(
        url,
        {
            "reminders_on": "on",
            "reminder_days": ["0", "2"],
            "reminder_time": "07:45",
            "time_zone": "America/New_York",
        },
    )
    assert response.status_code == 302
    pref = PracticePreference.objects.get(user=member)
    assert (pref.reminder_days, pref.reminder_time, pref.time_zone) == (
        [0, 2],
        time(7, 45),
        "America/New_York",
    )


def test_calendar_feed_is_secret_revocable_and_says_days_time_and_zone(client, member, reminded):
    reminded.reminder_days = [0, 2, 4]
    reminded.save()
    client.force_login(member)
    client.post(reverse("program:calendar-regenerate"))
    token = PracticePreference.objects.get(user=member).calendar_token
    client.logout()
    feed = client.get(reverse("program:calendar-feed", args=[token]))
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    body = feed.content.decode()
    assert "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR" in body
    assert f"DTSTART;TZID={LONDON}:" in body and "T080000" in body
    assert "BEGIN:VTIMEZONE" in body and "TZOFFSETTO:+0100" in body
    assert "BEGIN:VALARM" in body
    client.force_login(member)
    client.post(reverse("program:calendar-regenerate"))
    assert client.get(reverse("program:calendar-feed", args=[token])).status_code == 404
    client.post(reverse("program:calendar-revoke"))
    assert PracticePreference.objects.get(user=member).calendar_token is None


def test_calendar_vtimezone_has_both_changes_with_yearly_rules(member, reminded):
    text = practice_calendar(pref=reminded, site_name="S-I", now=_at(2026, 3, 1, 12, 0))
    assert (
        "BEGIN:DAYLIGHT\r\nDTSTART:20260329T010000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"
        in text
    )
    assert (
        "BEGIN:STANDARD\r\nDTSTART:20261025T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
        in text
    )
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_the_reminder_job_is_on_the_schedule_every_five_minutes_and_runs(member, reminded):
    from core import schedule
    from program.practice.tasks import send_practice_reminders

    job = next(j for j in schedule.registered() if j.name == "practice-reminders")
    assert job.every == timedelta(minutes=5) and job.task is send_practice_reminders
    result = send_practice_reminders.call()
    assert set(result) == {"sent", "already_practised"}


@pytest.mark.postgres
def test_two_workers_sending_at_once_send_one_email_and_two_posts_record_once(
    transactional_db, member, reminded
):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("Racing workers need PostgreSQL; SQLite serialises writes.")
    barrier = threading.Barrier(4)
    sent: list[int] = []
    recorded: list[bool] = []

    def worker(index):
        try:
            barrier.wait()
            if index % 2:
                sent.append(len(services.reminders_send_due(now=_at(2026, 3, 28, 8, 0)).sent))
            else:
                result = services.daily_check_in_record(
                    user_id=member.pk, local_date=datetime(2026, 4, 1).date(), answer="practised"
                )
                recorded.append(result.recorded)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [0, 1]
    assert sorted(recorded) == [False, True]
    assert len(mail.outbox) == 1
    assert ReminderSent.objects.count() == 1 and DailyCheckIn.objects.count() == 1
