"""The progress report's figures (program/practice/report_selectors.py) and shared links
(report_services.py), checked against a fixture journal whose answers are worked out by hand."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from program.models import LessonProgress, PracticeEvent, ReportShare, ReportShareView
from program.practice.report_selectors import (
    ReportPeriod,
    default_period,
    live_share,
    member_shares,
    progress_report,
)
from program.practice.report_services import (
    report_share_create,
    report_share_open,
    report_share_revoke,
)
from tests import factories

pytestmark = pytest.mark.django_db

PERIOD = ReportPeriod(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 21))


def at(day: int, hour: int = 12, minute: int = 0, month: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, month, day, hour, minute))


def practised(user, lesson, when):
    event = PracticeEvent.objects.create(user=user, lesson=lesson)
    PracticeEvent.objects.filter(pk=event.pk).update(created_at=when)


@pytest.fixture
def journal(member, program):
    """Three weeks of a member's journal (1-21 October 2026) and some noise around it."""
    entry = factories.journal_entry_factory
    lessons = [
        lesson
        for unit in program.units.order_by("position")
        for lesson in unit.lessons.order_by("position")
    ]
    notes = {
        "ticked": entry(
            user=member,
            program=program,
            side="left",
            pain=6,
            note="Stiff after driving",
            created_at=at(1),
        ),
    }
    entry(user=member, program=program, side="left", pain=8, created_at=at(2))
    entry(user=member, program=program, side="right", pain=5, created_at=at(2, 18))
    entry(user=member, program=program, side="left", pain=None, created_at=at(5))
    notes["unticked"] = entry(
        user=member,
        program=program,
        side="right",
        pain=4,
        note="UNTICKED-walked-the-dog",
        created_at=at(9),
    )
    entry(user=member, program=program, side="unsure", pain=3, created_at=at(12))
    practised(member, lessons[3], at(13, 9))
    practised(member, lessons[1], at(20, 9))
    practised(member, lessons[1], at(20, 10))
    LessonProgress.objects.create(
        user=member, lesson=lessons[2], state=LessonProgress.State.SKIPPED, skipped_at=at(14)
    )
    # Outside the period, by a minute either side.
    entry(
        user=member,
        program=program,
        side="left",
        pain=10,
        note="BEFORE",
        created_at=at(30, 23, 59, month=9),
    )
    entry(user=member, program=program, side="right", pain=0, note="AFTER", created_at=at(22, 0, 0))
    practised(member, lessons[0], at(22, 0, 1))
    LessonProgress.objects.create(
        user=member,
        lesson=lessons[4],
        state=LessonProgress.State.SKIPPED,
        skipped_at=at(1, month=9),
    )
    # Someone else, inside the period.
    other = factories.user_factory(email="other@example.com")
    notes["other"] = entry(
        user=other,
        program=program,
        side="right",
        pain=1,
        note="OTHER-MEMBER-NOTE",
        created_at=at(3),
    )
    practised(other, lessons[0], at(3))
    return {"lessons": lessons, "notes": notes, "other": other}


def test_days_practised_and_pain_are_counted_per_week(member, program, journal):
    report = progress_report(user=member, program=program, period=PERIOD)

    weeks = [
        (w.start, w.end, w.days_practised, w.assessments, w.pain_average, w.pain_low, w.pain_high)
        for w in report.weeks
    ]
    assert weeks == [
        # 1, 2 (twice) and 5 October; the 5th has no pain score
        (dt.date(2026, 10, 1), dt.date(2026, 10, 7), 3, 4, 6.3, 5, 8),
        # 9 and 12 October with an assessment, the 13th a lesson only
        (dt.date(2026, 10, 8), dt.date(2026, 10, 14), 3, 2, 3.5, 3, 4),
        # 20 October: a lesson twice, no assessment
        (dt.date(2026, 10, 15), dt.date(2026, 10, 21), 1, 0, None, None, None),
    ]
    assert report.days_practised == 7
    assert report.assessments == 6
    assert report.pain_average == 5.2  # (6 + 8 + 5 + 4 + 3) / 5
    assert [w.sides.deeper for w in report.weeks] == ["left", "even", ""]


def test_side_trend_compares_the_two_halves_of_the_period(member, program, journal):
    trend = progress_report(user=member, program=program, period=PERIOD).trend

    assert (trend.first_period.start, trend.first_period.end) == (
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 10),
    )
    assert (trend.first.left, trend.first.right, trend.first.unsure) == (3, 2, 0)
    assert trend.first.deeper == "left"
    assert (trend.second.left, trend.second.right, trend.second.unsure) == (0, 0, 1)
    assert trend.second.deeper == "unsure"


def test_lessons_practised_and_skipped_are_those_of_the_period(member, program, journal):
    report = progress_report(user=member, program=program, period=PERIOD)
    lessons = journal["lessons"]

    assert [(row.lesson, row.times) for row in report.practised] == [
        (lessons[1], 2),
        (lessons[3], 1),
    ]
    assert report.times_practised == 3
    assert [row.lesson for row in report.skipped] == [lessons[2]]


def test_only_ticked_notes_of_the_member_in_the_period_are_included(member, program, journal):
    notes = journal["notes"]
    report = progress_report(
        user=member,
        program=program,
        period=PERIOD,
        note_ids=[notes["ticked"].pk, notes["other"].pk, 999999],
    )

    assert [e.note for e in report.notes] == ["Stiff after driving"]
    assert [e.note for e in report.available_notes] == [
        "Stiff after driving",
        "UNTICKED-walked-the-dog",
    ]


def test_a_member_with_no_entries_gets_an_empty_report(member, program):
    report = progress_report(user=member, program=program, period=PERIOD)

    assert report.is_empty
    assert report.days_practised == 0
    assert report.pain_average is None
    assert not report.chart.points
    assert len(report.weeks) == 3


def test_the_default_period_is_the_last_eight_weeks_with_today():
    period = default_period(today=dt.date(2026, 12, 3))

    assert (period.start, period.end, period.days) == (
        dt.date(2026, 10, 9),
        dt.date(2026, 12, 3),
        56,
    )


def test_the_chart_has_a_point_per_week_with_a_pain_score(member, program, journal):
    chart = progress_report(user=member, program=program, period=PERIOD).chart

    assert len(chart.points) == 2
    first, second = chart.points
    assert first.y < second.y  # higher pain is higher up: 6.3 above 3.5
    assert first.high_y < first.y < first.low_y


# --- shared links ---------------------------------------------------------------------------


def test_a_share_stores_only_a_hash_and_only_own_notes_of_the_period(member, program, journal):
    notes = journal["notes"]
    new = report_share_create(
        user=member,
        program=program,
        period=PERIOD,
        note_ids=[notes["ticked"].pk, notes["other"].pk],
        expires_in_days=3,
    )

    share = ReportShare.objects.get()
    assert new.token not in share.token_hash
    assert len(new.token) >= 40
    assert share.note_ids == [notes["ticked"].pk]
    assert (
        dt.timedelta(days=2, hours=23) < share.expires_at - timezone.now() <= dt.timedelta(days=3)
    )
    assert live_share(token=new.token) == share


@pytest.mark.parametrize("days", [0, 8, 30])
def test_a_link_lives_one_to_seven_days(member, program, days):
    with pytest.raises(ValidationError):
        report_share_create(user=member, program=program, period=PERIOD, expires_in_days=days)
    assert not ReportShare.objects.exists()


def test_opening_a_link_records_each_view_and_revoking_ends_it(member, program):
    new = report_share_create(user=member, program=program, period=PERIOD)

    assert report_share_open(token=new.token) == new.share
    assert report_share_open(token=new.token, as_pdf=True) == new.share
    assert report_share_revoke(user=member, share_id=new.share.pk)
    assert report_share_open(token=new.token) is None
    assert ReportShareView.objects.filter(share=new.share).count() == 2
    [link] = member_shares(user=member)
    assert (link.status, len(link.views)) == ("withdrawn", 2)


def test_an_expired_link_opens_nothing_and_records_nothing(member, program):
    new = report_share_create(user=member, program=program, period=PERIOD, expires_in_days=1)
    ReportShare.objects.filter(pk=new.share.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    assert report_share_open(token=new.token) is None
    assert not ReportShareView.objects.exists()
    assert member_shares(user=member)[0].status == "expired"


def test_nobody_revokes_another_members_link(member, program, user_factory):
    new = report_share_create(user=member, program=program, period=PERIOD)

    assert not report_share_revoke(user=user_factory(), share_id=new.share.pk)
    assert report_share_open(token=new.token) == new.share
