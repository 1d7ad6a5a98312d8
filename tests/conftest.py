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


# --- practice tools -------------------------------------------------------------------------


@pytest.fixture
def private_media(tmp_path, monkeypatch):
    """Point the private file storage at a temporary folder for one test."""
    from django.core.files.storage import storages

    from program.models import Video

    folder = tmp_path / "private-media"
    folder.mkdir()
    instances = {id(s): s for s in [storages["private"]]}
    for name in ("file", "poster", "captions", "audio"):
        storage = Video._meta.get_field(name).storage
        instances[id(storage)] = storage
    for storage in instances.values():
        monkeypatch.setitem(storage.__dict__, "base_location", str(folder))
        monkeypatch.setitem(storage.__dict__, "location", str(folder))
    return folder


@pytest.fixture(scope="session")
def sample_video_path(tmp_path_factory):
    """A 2-second H.264/AAC mp4 made once per test session with ffmpeg."""
    return factories.make_sample_video(tmp_path_factory.mktemp("media") / "sample.mp4")


@pytest.fixture
def video_factory(db, private_media):
    return factories.video_factory


@pytest.fixture
def journal_entry_factory(db):
    return factories.journal_entry_factory
