import pytest
from django.core.cache import cache

from comments import spam
from program.models import Lesson
from program.services import access_grant


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache, which outlives a test's database rollback."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def old_token():
    """A form timestamp from a minute ago: passes the too-fast check."""
    import time

    return spam.form_token(now=time.time() - 60)


@pytest.fixture
def paid_lesson(program):
    return Lesson.objects.select_related("unit__program").get(
        unit__program=program, unit__position=2, position=1
    )


@pytest.fixture
def free_lesson(program):
    return Lesson.objects.select_related("unit__program").get(
        unit__program=program, unit__position=1, position=1
    )


@pytest.fixture
def paying_member(member, program):
    access_grant(user=member, program=program, source="purchase", reason="test purchase")
    return member
