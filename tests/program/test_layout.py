"""The program app's shape: tasks queued under an older module path still run, and program
imports nothing of the apps above it."""

import ast
from pathlib import Path

import pytest
from django.tasks import Task
from django_tasks_db.models import DBTaskResult

from program.course.tasks import send_course_step, send_subscriber_email
from program.media.tasks import extract_audio

PROGRAM = Path(__file__).resolve().parents[2] / "program"
ABOVE_PROGRAM = {"billing", "comments", "members", "help", "demo"}


@pytest.mark.parametrize(
    ("queued_path", "task"),
    [
        ("program.course_tasks.send_course_step", send_course_step),
        ("program.course_tasks.send_subscriber_email", send_subscriber_email),
        ("program.media_tasks.extract_audio", extract_audio),
    ],
)
def test_rows_queued_under_the_old_task_paths_still_resolve(queued_path, task):
    row = DBTaskResult(task_path=queued_path, backend_name="default", queue_name="default")
    resolved = row.task
    assert isinstance(resolved, Task)
    assert resolved.func is task.func


def test_no_module_imports_after_its_code():
    """Imports sit at the top of each module (or inside a function on purpose)."""
    offenders = []
    for path in PROGRAM.rglob("*.py"):
        body = ast.parse(path.read_text()).body
        seen_code = False
        for node in body:
            is_import = isinstance(node, ast.Import | ast.ImportFrom)
            is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            if is_import and seen_code:
                offenders.append(f"{path.relative_to(PROGRAM.parent)}:{node.lineno}")
            if not is_import and not is_docstring:
                seen_code = True
    assert offenders == []
