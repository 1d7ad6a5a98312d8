import pytest

from tests import factories


@pytest.fixture
def user_factory(db):
    return factories.user_factory


@pytest.fixture
def program_factory(db):
    return factories.program_factory


@pytest.fixture
def article_factory(db):
    return factories.article_factory


@pytest.fixture
def member(db):
    return factories.user_factory(email="member@example.com")


@pytest.fixture
def staff_user(db):
    return factories.user_factory(email="staff@example.com", is_staff=True)


@pytest.fixture
def program(db):
    return factories.program_factory()


@pytest.fixture
def video_factory(db):
    """Videos with files in the private storage (a temporary folder per test run)."""
    return factories.video_factory
