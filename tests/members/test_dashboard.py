"""The dashboard: figures on a small known data set, SVG charts, constant query count."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members import presenters
from members.selectors import dashboard_figures
from program.models import PracticeEvent
from program.services import access_grant
from tests import factories

pytestmark = pytest.mark.django_db

DASHBOARD = "admin:members_dashboard"


@pytest.fixture
def boss(client):
    user = factories.user_factory(email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def known_data(program):
    jan = datetime(2026, 1, 15, 12, tzinfo=UTC)
    feb = datetime(2026, 2, 10, 12, tzinfo=UTC)
    buyers = [factories.user_factory(email=f"buyer{i}@example.com") for i in range(4)]
    for buyer, paid_at in zip(buyers, [jan, jan, feb, feb], strict=True):
        factories.purchase_factory(user=buyer, program=program, status="paid", paid_at=paid_at)
        access_grant(user=buyer, program=program, source="purchase", reason="bought")
    refunded = factories.user_factory(email="refunded@example.com")
    refunded_purchase = factories.purchase_factory(
        user=refunded, program=program, status="refunded", paid_at=jan
    )
    factories.refund_row_factory(purchase=refunded_purchase)
    factories.refund_row_factory(purchase=refunded_purchase, status="failed")
    comp = factories.user_factory(email="comp@example.com")
    access_grant(user=comp, program=program, source="complimentary", reason="friend")
    # Email course: 3 sign-ups in January, 2 confirmed, 1 of them bought in February.
    factories.subscriber_factory(email="buyer2@example.com", status="confirmed", confirmed_at=jan)
    factories.subscriber_factory(status="confirmed", confirmed_at=jan)
    factories.subscriber_factory()
    from program.models import Subscriber

    Subscriber.objects.update(created_at=jan - timedelta(days=5))
    lessons = list(program.units.first().lessons.all())
    for _ in range(3):
        PracticeEvent.objects.create(user=buyers[0], lesson=lessons[1])
    PracticeEvent.objects.create(user=buyers[0], lesson=lessons[0])
    return {"jan": jan, "feb": feb, "lessons": lessons}


def test_dashboard_figures_on_a_known_data_set(boss, known_data):
    figures = presenters.dashboard(dashboard_figures())

    by_status = dict(figures["by_status"])
    # Staff (the superuser here) are not members: not counted as "Free".
    assert (by_status["Free"], by_status["Paid"], by_status["Refunded"]) == (0, 4, 1)
    assert by_status["Complimentary"] == 1
    months = {row["month"].month: row for row in figures["money"]}
    assert months[1]["sales"] == 3 and months[1]["sales_cents"] == 3 * 9700
    assert months[2]["sales"] == 2
    assert figures["total_sales"] == 5 and figures["total_refunds"] == 1
    assert figures["refund_rate_percent"] == "20.0"
    assert figures["course_totals"] == {"signups": 3, "confirmed": 2, "converted": 1}
    lessons = known_data["lessons"]
    unit = lessons[1].unit.title
    assert figures["top_lessons"][0] == (lessons[1].title, 3, unit)
    assert figures["top_lessons"][1][1] == 1


def test_dashboard_page_shows_svg_charts_and_numbers_without_style_attributes(
    client, boss, known_data
):
    response = client.get(reverse(DASHBOARD))

    html = response.content.decode()
    main = html.split('id="content-main"', 1)[1].split("<!-- END SVGs", 1)[0]
    assert response.status_code == 200
    assert main.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox') == 4
    assert main.count('role="img"') == 4
    assert "style=" not in main
    assert 'data-testid="refund-rate">20.0%' in html
    assert 'data-testid="course-converted">1<' in html


def test_dashboard_query_count_is_the_same_for_10_and_1000_members(
    client, boss, program, members_bulk
):
    members_bulk(count=10, program=program)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(DASHBOARD)).status_code == 200

    members_bulk(count=990, program=program)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse(DASHBOARD)).status_code == 200

    assert len(few) == len(many)


def test_lessons_chart_labels_bars_with_the_lesson_and_clips_nothing(client, boss, program):
    import re

    from members.charts import CHAR_WIDTH

    unit = program.units.first()
    unit.title = "Unit 2: Releasing the back of the pelvis, slowly and gently"
    unit.save()
    first, second = list(unit.lessons.all())[:2]
    first.title = "The single leg lift 2"
    first.save()
    member = factories.user_factory()
    PracticeEvent.objects.create(user=member, lesson=first)
    PracticeEvent.objects.create(user=member, lesson=second)

    html = client.get(reverse(DASHBOARD)).content.decode()

    section = html.split('id="lessons"', 1)[1]
    svg = section.split("<svg", 1)[1].split("</svg>", 1)[0]
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', "<svg" + svg).group(1))
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+" font-size="15"[^>]*>([^<]*)<tspan', svg)
    # Each bar is labelled with its own lesson (two lessons of one unit are told apart) ...
    assert [text for _, text in labels] == [first.title, second.title]
    # ... with the unit beside it in smaller text and the whole in a tooltip.
    assert svg.count(f">{unit.title[:20]}") == 2
    assert f"<title>{first.title} ({unit.title}): 1</title>" in svg
    # Nothing starts left of the edge or runs past the right one.
    assert 'text-anchor="end"' not in svg
    for x, text in labels:
        small = re.search(
            re.escape(text) + r'<tspan font-size="12"[^>]*dx="(\d+)">([^<]*)</tspan>', svg
        )
        end = float(x) + len(text) * 15 * CHAR_WIDTH
        end += int(small.group(1)) + len(small.group(2)) * 12 * CHAR_WIDTH
        assert float(x) >= 0 and end <= width, (text, end)
    assert f"{first.title} <span" in section.split("<table", 1)[1]


def test_staff_are_counted_neither_on_the_dashboard_nor_in_the_member_list(client, boss):
    factories.user_factory(email="support@example.com", is_staff=True)
    factories.user_factory(email="free@example.com")

    by_status = dict(dashboard_figures()["by_status"])
    listed = client.get(reverse("admin:members_member_changelist")).context["cl"].result_list
    exported = client.get(reverse("admin:members_member_export"))
    csv_text = b"".join(exported.streaming_content).decode()

    assert by_status["Free"] == 1 and sum(by_status.values()) == 1
    assert [member.email for member in listed] == ["free@example.com"]
    assert "free@example.com" in csv_text and "support@example.com" not in csv_text
    # A staff account's own page still opens (a colleague may also be a customer).
    staff = factories.user_factory(email="colleague@example.com", is_staff=True)
    page = client.get(reverse("admin:members_member_change", args=[staff.pk]))
    assert page.status_code == 200


def test_a_long_lesson_title_is_shortened_to_the_chart_and_kept_whole_in_the_tooltip():
    import re

    from members.charts import CHAR_WIDTH, bar_chart

    title = "A lesson title that goes on and on " * 4
    svg = bar_chart([(title, 3, "Unit 4: Sitting")], label="Lessons most practised")

    shown = re.search(r'font-size="15" fill="#222222">([^<]*)', svg).group(1)
    assert shown.endswith("…") and len(shown) * 15 * CHAR_WIDTH <= 640
    assert f"<title>{title} (Unit 4: Sitting): 3</title>" in svg
    assert "<tspan" not in svg  # no room left for the unit: it stays in the tooltip
