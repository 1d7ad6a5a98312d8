def pytest_terminal_summary(terminalreporter):
    """The property test's case counts per endpoint and role (none when it did not run here,
    e.g. in another xdist worker)."""
    from tests.hostile.endpoints import ENDPOINTS
    from tests.hostile.test_hostile_input import CASES

    if not CASES:
        return
    write = terminalreporter.write_line
    write("hostile-input cases per endpoint (visitor / member / staff):")
    for endpoint in ENDPOINTS:
        counts = [CASES[(endpoint.name, role)] for role in ("visitor", "member", "staff")]
        write(f"  {endpoint.name:32} {counts[0]:3} / {counts[1]:3} / {counts[2]:3}")
    write(f"  total {sum(CASES.values())}")
