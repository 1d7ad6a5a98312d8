"""The public pages, the outline, unit and lesson pages: who sees what, and how many queries."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from program.models import Article, Lesson, Program, Unit, Video
from program.services import access_grant
from tests import factories
from tests.html_checks import assert_csp_clean, assert_html_csp_clean

pytestmark = pytest.mark.django_db

ROLES = ["visitor", "free", "member", "staff"]


def _client(role: str, program: Program | None = None) -> Client:
    client = Client()
    if role == "visitor":
        return client
    user = factories.user_factory(is_staff=(role == "staff"))
    if role == "member":
        access_grant(user=user, program=program, source="purchase", reason="test purchase")
    client.force_login(user)
    return client


def _articles() -> None:
    video = Video.objects.create(
        title="Self-check", file="videos/self-check.mp4", captions="captions/self-check.vtt"
    )
    for page, _label in Article.Page.choices:
        factories.article_factory(
            page=page,
            slug=f"page-{page}",
            title=f"The {page} page",
            video=video if page == Article.Page.SELF_CHECK else None,
            body=(
                "Pain can show up in many places.\n\n## Lower back\n\nAn ache on one side.\n\n"
                "## Hip and groin\n\nA catch when you stand up.\n\n## Leg\n\nA pull down the leg."
            ),
        )


@pytest.fixture
def site(db):
    program = factories.program_factory(units=4, lessons_per_unit=2)
    _articles()
    factories.article_factory(slug="a-normal-article", title="A normal article")
    return program


def _urls(program: Program) -> dict[str, str]:
    return {
        "home": reverse("home"),
        "symptoms": reverse("program:symptoms"),
        "self-check": reverse("program:self-check"),
        "practitioner": reverse("program:practitioner"),
        "guarantee": reverse("program:guarantee"),
        "privacy": reverse("program:privacy"),
        "article": reverse("program:article", args=["a-normal-article"]),
        "outline": reverse("program:detail", args=[program.slug]),
        "free-unit": reverse("program:unit", args=[program.slug, "unit-1"]),
        "locked-unit": reverse("program:unit", args=[program.slug, "unit-3"]),
        "free-lesson": reverse("program:lesson", args=[program.slug, "unit-1", "lesson-1"]),
        "locked-lesson": reverse("program:lesson", args=[program.slug, "unit-3", "lesson-2"]),
        "healthz": reverse("healthz"),
    }


EXPECTED = {
    # page: (visitor, free user, member, staff)
    "home": (200, 200, 200, 200),
    "symptoms": (200, 200, 200, 200),
    "self-check": (200, 200, 200, 200),
    "practitioner": (200, 200, 200, 200),
    "guarantee": (200, 200, 200, 200),
    "privacy": (200, 200, 200, 200),
    "article": (200, 200, 200, 200),
    "outline": (200, 200, 200, 200),
    "free-unit": (200, 200, 200, 200),
    "locked-unit": (200, 200, 200, 200),
    "free-lesson": (200, 200, 200, 200),
    "locked-lesson": (200, 200, 200, 200),
    "healthz": (200, 200, 200, 200),
}


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_expected(site, role):
    client = _client(role, site)
    urls = _urls(site)
    got = {name: client.get(url).status_code for name, url in urls.items()}
    want = {name: codes[ROLES.index(role)] for name, codes in EXPECTED.items()}
    assert got == want


@pytest.mark.parametrize("role", ["visitor", "free"])
def test_locked_lesson_shows_what_the_unit_offers_and_no_video(site, role):
    response = _client(role, site).get(_urls(site)["locked-lesson"])
    html = response.content.decode()
    assert response.status_code == 200
    assert "This lesson is part of the full program" in html
    assert "Result of unit 3." in html
    assert "Lesson 3.1" in html and "Lesson 3.2" in html  # what the unit offers
    assert "97.00 USD" in html
    assert "lifetime satisfaction guarantee" in html.lower()
    assert "<video" not in html
    assert "/media/" not in html
    assert "Do movement 3.2" not in html  # the instructions stay closed too


@pytest.mark.parametrize("role", ["member", "staff"])
def test_open_lesson_has_the_video_captions_and_instructions(site, role):
    lesson = Lesson.objects.get(unit__program=site, unit__slug="unit-3", slug="lesson-2")
    lesson.video = Video.objects.create(
        title="v", file="videos/v.mp4", poster="posters/v.jpg", captions="captions/v.vtt"
    )
    lesson.save()
    html = _client(role, site).get(_urls(site)["locked-lesson"]).content.decode()
    video_src = reverse("program:media", args=[lesson.video.pk, "video"])
    assert f'<video controls preload="metadata" playsinline src="{video_src}"' in html
    assert '<track kind="captions"' in html
    assert reverse("program:media", args=[lesson.video.pk, "captions"]) in html
    assert "Do movement 3.2 <strong>slowly</strong>" in html
    assert "Previous lesson" in html and "Lesson 3.1" in html
    assert "Next unit" in html and "Unit 4" in html


def test_video_without_captions_has_no_track(site):
    lesson = Lesson.objects.get(unit__program=site, unit__slug="unit-1", slug="lesson-1")
    lesson.video = Video.objects.create(title="v", file="videos/v.mp4")
    lesson.save()
    html = Client().get(_urls(site)["free-lesson"]).content.decode()
    assert "<video" in html and "<track" not in html


def test_outline_marks_free_locked_and_yours(site):
    visitor = Client().get(_urls(site)["outline"]).content.decode()
    marks = re.findall(r'class="mark mark-(free|locked|yours)"', visitor)
    assert marks[2:] == ["free", "locked", "locked", "locked"]  # after the key
    assert "Result of unit 2." in visitor
    assert "97.00 USD" in visitor and "ask for a refund at any time" in visitor
    member = _client("member", site).get(_urls(site)["outline"]).content.decode()
    marks = re.findall(r'class="mark mark-(free|locked|yours)"', member)
    assert marks[2:] == ["free", "yours", "yours", "yours"]
    assert "Every unit is open to you" in member


def test_locked_unit_lists_its_lessons_and_the_offer(site):
    html = Client().get(_urls(site)["locked-unit"]).content.decode()
    assert "This unit is part of the full program" in html
    assert "Lesson 3.1" in html
    assert reverse("program:lesson", args=[site.slug, "unit-3", "lesson-1"]) not in html


def test_symptoms_page_groups_each_region_in_a_section(site):
    html = Client().get(reverse("program:symptoms")).content.decode()
    assert html.count('<section class="region"') == 3
    assert 'href="#lower-back"' in html and 'id="hip-and-groin"' in html
    assert "Pain can show up in many places." in html


def test_self_check_page_shows_its_video(site):
    html = Client().get(reverse("program:self-check")).content.decode()
    assert "<video controls" in html and '<track kind="captions"' in html


def test_unwritten_page_is_a_friendly_404(db):
    response = Client().get(reverse("program:guarantee"))
    assert response.status_code == 404
    assert "This page is being written" in response.content.decode()


def test_home_before_any_program_is_published_says_so(db):
    factories.program_factory(published=False)
    response = Client().get(reverse("home"))
    assert response.status_code == 200
    assert "The program is being prepared" in response.content.decode()


def test_unpublished_program_and_unknown_slugs_are_404(db):
    hidden = factories.program_factory(published=False)
    client = Client()
    assert client.get(reverse("program:detail", args=[hidden.slug])).status_code == 404
    assert client.get(reverse("program:unit", args=[hidden.slug, "unit-1"])).status_code == 404
    assert client.get(reverse("program:detail", args=["nope"])).status_code == 404
    assert client.get(reverse("program:article", args=["nope"])).status_code == 404


def test_not_found_page_uses_the_site_layout(db, settings):
    settings.DEBUG = False
    response = Client().get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in html and 'class="skip-link"' in html


def test_pages_refuse_post_without_error(site):
    assert Client().post(_urls(site)["outline"]).status_code == 405


@pytest.mark.parametrize("role", ["visitor", "member"])
def test_every_public_page_satisfies_the_content_security_policy(site, role):
    client = _client(role, site)
    for name, url in _urls(site).items():
        if name == "healthz":
            continue
        response = client.get(url)
        assert_csp_clean(response)
        html = response.content.decode()
        assert 'class="skip-link" href="#main"' in html, name
        assert '<main id="main"' in html and '<nav class="site-nav" aria-label="Main">' in html


def test_error_pages_are_friendly_and_csp_clean(db):
    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    server_error = defaults.server_error(request).content.decode()
    assert "Sorry, something went wrong" in server_error
    bad_request = defaults.bad_request(request, Exception("x")).content.decode()
    assert "Something in that request was not right" in bad_request
    forbidden = defaults.permission_denied(request, Exception("x")).content.decode()
    assert "This page is not open to you" in forbidden
    csrf = render_to_string("403_csrf.html")
    assert "Please try that again" in csrf
    for html in (server_error, bad_request, forbidden, csrf):
        assert_html_csp_clean(html)
        assert 'class="skip-link"' in html


# --- Query counts: the same with 4 and 40 units, lessons per unit varying ------------------


def _program_with(units: int) -> Program:
    program = factories.program_factory(units=0)
    for u in range(1, units + 1):
        unit = Unit.objects.create(
            program=program,
            position=u,
            title=f"Unit {u}",
            slug=f"unit-{u}",
            expected_result=f"Result {u}",
            is_free=(u == 1),
        )
        Lesson.objects.bulk_create(
            Lesson(unit=unit, position=p, title=f"Lesson {u}.{p}", slug=f"lesson-{p}")
            for p in range(1, (u % 4) + 3)  # 2 to 5 lessons per unit
        )
    return program


# Queries per page and role. A signed-in person adds 1 (the user; the session comes from the
# cache, SESSION_ENGINE cached_db); a non-staff person 1 more for the access check, except on the
# lesson page, where it is part of the practice panel's query. Outline:
# program, units, lessons. Unit: unit+program, lessons, neighbour units. Lesson, the first request
# after a content change: lesson+unit+program+video, sibling lessons, neighbour units (kept under
# the content version, program.selectors.lesson_content; LESSON_AGAIN counts the next request).
QUERIES = {
    # Members and staff also see the practice panels: progress and come-back list (outline,
    # 3 queries), the unit's progress (2), the lesson's state and working side (1, with the access
    # answer, read for everyone signed in and shown only when the lesson is open). The outline
    # shows their next step first (open lessons, their rows, the latest self-assessment: 3).
    "outline": {"visitor": 3, "free": 5, "member": 11, "staff": 10},
    "unit": {"visitor": 3, "free": 5, "member": 7, "staff": 6},
    # An open lesson also shows its comment thread: for a signed-in person one query (may they
    # comment, have they a comment awaiting review here); nobody's empty thread needs a query
    # (its size is stored on the lesson), and the thread reuses the page's access answer.
    "lesson": {"visitor": 3, "free": 5, "member": 6, "staff": 6},
}
# The same lesson again, its content from the cache: what remains is one person's. A visitor: none.
# Signed in: the user, and the access answer with the practice panel (working side and progress)
# in one query; the lesson open to them (member, staff), also the thread's viewer query (may they
# comment, have they a comment awaiting review).
LESSON_AGAIN = {"visitor": 0, "free": 2, "member": 3, "staff": 3}


@pytest.mark.parametrize("units", [4, 40])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ["outline", "unit", "lesson"])
def test_page_queries_do_not_grow_with_units(page, role, units, django_assert_num_queries):
    program = _program_with(units)
    client = _client(role, program)
    unit_slug = "unit-3"  # a paid unit with 5 lessons (or 1: it is the same unit either way)
    url = {
        "outline": reverse("program:detail", args=[program.slug]),
        "unit": reverse("program:unit", args=[program.slug, unit_slug]),
        "lesson": reverse("program:lesson", args=[program.slug, unit_slug, "lesson-2"]),
    }[page]
    with django_assert_num_queries(QUERIES[page][role]):
        response = client.get(url)
    assert response.status_code == 200
    if page == "lesson":
        with django_assert_num_queries(LESSON_AGAIN[role]):
            again = client.get(url)
        assert again.status_code == 200
        assert again.content == response.content or role != "visitor"


def test_sections_split_keeps_intro_and_gives_unique_ids():
    from program.markdown import render_markdown
    from program.templatetags.program_pages import sections

    parts = sections(render_markdown("Intro **text**.\n\n## Leg\n\nOne.\n\n## Leg\n\nTwo."))
    assert "<strong>text</strong>" in parts["intro"]
    assert [s["slug"] for s in parts["sections"]] == ["leg", "leg-2"]
    assert sections(render_markdown("No headings."))["sections"] == []


@pytest.mark.parametrize("role", ["visitor", "free"])
@pytest.mark.parametrize("page", ["locked-lesson", "locked-unit", "outline"])
def test_locked_page_states_the_price_and_the_guarantee_once(site, role, page):
    response = _client(role, site).get(_urls(site)[page])
    html = response.content.decode()
    assert html.count("97.00 USD") == 1
    assert html.lower().count("satisfaction guarantee") == 1
    assert html.count(reverse("program:guarantee") + '">How the guarantee works') == 1
    assert "Buy the full program" in html


@pytest.mark.parametrize("page", list(Article.Page))
def test_a_fixed_page_article_redirects_permanently_to_its_own_url(site, page):
    response = Client().get(reverse("program:article", args=[f"page-{page}"]))
    special = {Article.Page.HOME: "home", Article.Page.MENTORING: "accounts:mentoring"}
    assert response.status_code == 301
    assert response["Location"] == reverse(special.get(page, f"program:{page}"))
    assert Article.objects.get(page=page).get_absolute_url() == response["Location"]


def test_a_normal_article_stays_at_its_articles_url(site):
    url = reverse("program:article", args=["a-normal-article"])
    assert Article.objects.get(slug="a-normal-article").get_absolute_url() == url
    assert Client().get(url).status_code == 200


JOURNAL_LINK = re.compile(r'<nav class="site-nav".*?href="/journal/">Journal</a>', re.S)
PROGRESS_LINK = re.compile(r'<nav class="site-nav".*?href="/progress/">Progress</a>', re.S)


@pytest.mark.parametrize("role", ROLES)
def test_header_links_to_journal_and_progress_for_signed_in_people_only(site, role):
    html = _client(role, site).get(reverse("home")).content.decode()
    signed_in = role != "visitor"
    assert bool(JOURNAL_LINK.search(html)) is signed_in
    assert bool(PROGRESS_LINK.search(html)) is signed_in


def test_header_marks_progress_as_the_current_page(site):
    client = _client("member", site)
    progress = client.get(reverse("program:progress")).content.decode()
    assert 'href="/progress/" aria-current="page">Progress</a>' in progress
    assert 'href="/journal/">Journal</a>' in progress
