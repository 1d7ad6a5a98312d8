"""Checks shared by page tests: the strict CSP is sent and the HTML needs nothing it forbids."""

import re


def assert_csp_clean(response) -> None:
    assert "Content-Security-Policy" in response.headers
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert_html_csp_clean(response.content.decode())


def assert_html_csp_clean(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b", html), "inline <style>"
    assert ' style="' not in html and " style='" not in html, "style attribute"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert not re.search(r"""\ssrc=["']https?://""", html), "asset from another host"
    assert not re.search(r"""<link[^>]*href=["']https?://""", html), "stylesheet from another host"
