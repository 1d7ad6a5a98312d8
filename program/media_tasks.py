"""Old import path of the media task, kept because the task queue stores a task by its path.

An audio extraction queued before the media code moved to program/media/ names
`program.media_tasks.extract_audio`; the worker imports that path to run it. Remove this module
once no queued or running row names it:
`DBTaskResult.objects.filter(task_path__startswith="program.media_tasks.").exists()`.
"""

from program.media.tasks import extract_audio

__all__ = ["extract_audio"]
