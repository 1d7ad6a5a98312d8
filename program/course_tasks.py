"""Old import path of the course's tasks, kept because the task queue stores a task by its path.

Course steps wait in the queue for days (`run_after`), so rows enqueued before the course moved to
program/course/ name `program.course_tasks.send_course_step`; the worker imports that path to run
them. Remove this module once no queued or running row names it:
`DBTaskResult.objects.filter(task_path__startswith="program.course_tasks.").exists()`.
"""

from program.course.tasks import send_course_step, send_subscriber_email

__all__ = ["send_course_step", "send_subscriber_email"]
