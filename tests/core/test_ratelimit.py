import pytest
from django.core.cache import cache

from core.ratelimit import rate_limit_consume, rate_limit_count, rate_limit_hit


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_consume_allows_up_to_the_limit_then_refuses():
    keys = {"email": ("a@example.com", 2), "ip": ("192.0.2.1", 10)}
    assert [rate_limit_consume(scope="form", keys=keys) for _ in range(3)] == [False, False, True]


def test_consume_counts_per_value_scope_and_kind():
    rate_limit_consume(scope="form", keys={"email": ("a@example.com", 1)})
    assert rate_limit_consume(scope="form", keys={"email": ("b@example.com", 1)}) is False
    assert rate_limit_consume(scope="other", keys={"email": ("a@example.com", 1)}) is False
    assert rate_limit_consume(scope="form", keys={"ip": ("a@example.com", 1)}) is False


def test_consume_treats_an_address_in_other_case_or_spacing_as_the_same():
    rate_limit_consume(scope="form", keys={"email": ("A@Example.com ", 1)})
    assert rate_limit_consume(scope="form", keys={"email": ("a@example.com", 1)}) is True


def test_an_empty_value_is_never_counted():
    for _ in range(5):
        assert rate_limit_consume(scope="form", keys={"ip": ("", 1)}) is False


def test_hit_counts_and_count_reads_without_counting():
    assert rate_limit_count(scope="comments:account", value="7") == 0
    assert rate_limit_hit(scope="comments:account", value="7", period=60) == 1
    assert rate_limit_hit(scope="comments:account", value="7", period=60) == 2
    assert rate_limit_count(scope="comments:account", value="7") == 2
    assert rate_limit_count(scope="comments:client", value="7") == 0


def test_the_cache_never_holds_the_value_itself():
    rate_limit_hit(scope="form:email", value="private@example.com", period=60)
    keys = list(getattr(cache, "_cache", {}).keys())
    assert keys and not any("private@example.com" in str(key) for key in keys)
