"""axe-core on the new pages (Today, the safety check and stop page, settings, comfort, the
reminder's check-in page). axe-core is pinned in tools/axe and installed by scripts/test.sh
(npm ci); AXE_JS may name another axe.min.js."""

import os
from pathlib import Path

import pytest

from program.models import PracticeSettings, WarningSign
from program.practice import emails
from program.practice.services import safety_acknowledge
from program.services import access_grant
from tests.factories import program_factory, user_factory

pytestmark = pytest.mark.django_db(transaction=True)

AXE_JS = Path(
    os.environ.get(
        "AXE_JS",
        Path(__file__).resolve().parents[2] / "tools/axe/node_modules/axe-core/axe.min.js",
    )
)


@pytest.mark.skipif(
    not AXE_JS.exists(), reason="axe-core is not installed (scripts/test.sh installs it with npm)"
)
def test_new_pages_have_no_axe_violations(browser, live_server, sign_in_as):
    program = program_factory(units=2, lessons_per_unit=2)
    member = user_factory()
    access_grant(user=member, program=program, source="purchase", reason="axe")
    safety_acknowledge(user=member)
    row = PracticeSettings.objects.create(program=program, pain_threshold=7)
    WarningSign.objects.create(practice_settings=row, text="Fever")
    check_in = emails.reminder_urls(user_id=member.pk, local_date=row.created_at.date())
    check_in_path = "/" + check_in["practised_url"].split("://", 1)[1].split("/", 1)[1]
    context = browser.new_context(
        base_url=live_server.url, bypass_csp=True, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    axe = AXE_JS.read_text()
    sign_in_as(page, member.email)
    found = {}
    for path in [
        "/",
        f"/programs/{program.slug}/",
        f"/programs/{program.slug}/unit-1/lesson-1/",
        "/today/",
        "/today/check/",
        "/today/stop/",
        "/today/gentle/",
        "/today/settings/",
        "/comfort/",
        check_in_path,
    ]:
        page.goto(path)
        page.add_script_tag(content=axe)
        result = page.evaluate("() => axe.run(document)")
        found[path] = [
            f"{v['id']}: " + ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
            for v in result["violations"]
        ]
    context.close()
    assert found == {path: [] for path in found}
