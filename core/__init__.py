"""Helpers every app shares. Imports Django, the standard library and third-party packages only,
never one of the site's own apps, so any app may depend on it."""
