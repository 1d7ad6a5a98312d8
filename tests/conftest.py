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
def comment_factory(db):
    return factories.comment_factory
