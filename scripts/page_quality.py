"""Page quality: Lighthouse (mobile preset) and axe-core against the running site.

    ./scripts/page_quality.sh [--keep]

Not a test. It installs Lighthouse and axe-core from npm into tools/page-quality/node_modules
(package-lock.json pins them; no browser is downloaded: Debian's Chromium at CHROME_PATH, default
/usr/bin/chromium), seeds the demo content into its own SQLite file, collects static files and
starts gunicorn with production settings (DEBUG off, WhiteNoise's hashed and compressed files).
Then for the home page, the outline, a Unit 1 lesson and the sign-in page it prints Lighthouse's
performance, accessibility, best-practices and SEO scores, and every axe-core violation (axe
is injected with Playwright into the same Chromium). Exit status 1 if a score is below 95 or axe
found a violation.

HTTPS: the server runs on plain loopback HTTP, so DJANGO_SECURE_SSL_REDIRECT=0 here (behind the
real load balancer the redirect and HSTS apply); browsers treat 127.0.0.1 as a secure context.
"""

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, free_port, manage, wait_until_up  # noqa: E402

TOOLS = ROOT / "tools" / "page-quality"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
# The flags tests/browser/conftest.py gives Debian's Chromium.
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
TARGET = 95


def npm_install() -> None:
    if (TOOLS / "node_modules" / ".bin" / "lighthouse").exists():
        return
    env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TOOLS, env=env, check=True)


def site_env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_LOG_LEVEL="WARNING",
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        PRIVATE_MEDIA_ROOT=str(workdir / "media"),
        EMAIL_URL="smtp://127.0.0.1:25",
        STRIPE_SECRET_KEY="sk_test_page_quality_never_used",
        STRIPE_WEBHOOK_SECRET="whsec_page_quality",
    )
    env.update(extra)
    return env


def page_urls(env: dict[str, str]) -> dict[str, str]:
    code = (
        "import json; from django.urls import reverse; from program.models import Program;"
        "p = Program.objects.filter(published=True).order_by('pk').first();"
        "u = p.units.filter(is_free=True).order_by('position').first();"
        "lesson = u.lessons.order_by('position').first();"
        "print(json.dumps({'home': reverse('home'),"
        " 'outline': reverse('program:detail', args=[p.slug]),"
        " 'lesson': reverse('program:lesson', args=[p.slug, u.slug, lesson.slug]),"
        " 'sign-in': reverse('account_login')}))"
    )
    return json.loads(manage("shell", "-c", code, env=env).strip().splitlines()[-1])


def lighthouse(url: str, out: Path) -> dict[str, int]:
    subprocess.run(
        [
            str(TOOLS / "node_modules" / ".bin" / "lighthouse"),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={' '.join(CHROME_FLAGS)}",
        ],
        env=dict(os.environ, CHROME_PATH=CHROME),
        check=True,
    )
    report = json.loads(out.read_text())
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    failing = [
        f"{audit['id']} ({audit['score']}): {audit['title']}"
        for audit in report["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 0.9
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    ]
    return {"scores": scores, "failing": failing}


def axe(base: str, urls: dict[str, str]) -> dict[str, list[str]]:
    from playwright.sync_api import sync_playwright

    axe_js = (TOOLS / "node_modules" / "axe-core" / "axe.min.js").read_text()
    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROME, args=CHROME_FLAGS)
        # The site's CSP forbids inline scripts, as it should; axe is injected around it.
        context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
        page = context.new_page()
        for name, path in urls.items():
            page.goto(base + path, wait_until="load")
            page.add_script_tag(content=axe_js)
            result = page.evaluate("() => axe.run(document)")
            found[name] = [
                f"{v['id']} [{v['impact']}] {v['help']}: "
                + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
                for v in result["violations"]
            ]
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the reports folder")
    args = parser.parse_args()
    npm_install()
    workdir = Path(tempfile.mkdtemp(prefix="si-page-quality-"))
    env = site_env(workdir)
    print("Preparing: migrate, seed_demo, collectstatic ...", flush=True)
    manage("migrate", "--noinput", env=dict(env, DJANGO_DEBUG="1"))
    manage("seed_demo", "--password", secrets.token_urlsafe(12), env=dict(env, DJANGO_DEBUG="1"))
    manage("createcachetable", env=env)
    manage("collectstatic", "--noinput", env=env)
    urls = page_urls(env)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (workdir / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env=dict(env, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    ok = True
    try:
        wait_until_up(base, server)
        rows = {}
        for name, path in urls.items():
            print(f"Lighthouse: {name} ({path}) ...", flush=True)
            rows[name] = lighthouse(base + path, workdir / f"lighthouse-{name}.json")
        print("axe-core ...", flush=True)
        violations = axe(base, urls)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()

    print()
    print("| Page | Performance | Accessibility | Best practices | SEO | axe violations |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in rows.items():
        scores = row["scores"]
        ok = ok and min(scores.values()) >= TARGET and not violations[name]
        print(
            f"| {name} ({urls[name]}) | "
            + " | ".join(str(scores[c]) for c in CATEGORIES)
            + f" | {len(violations[name])} |"
        )
    for name, row in rows.items():
        for line in row["failing"]:
            print(f"lighthouse {name}: {line}")
        for line in violations[name]:
            print(f"axe {name}: {line}")
    print(f"\nReports: {workdir}" if args.keep else "")
    if not args.keep:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
