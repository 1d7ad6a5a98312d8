"""Fill the stored thread size (program's Lesson.thread_size and Article.thread_size, kept by
comments.services from now on) for every lesson and article that has comments."""

from django.db import migrations
from django.db.models import Exists, OuterRef, Q


def backfill(apps, schema_editor):
    Comment = apps.get_model("comments", "Comment")
    Lesson = apps.get_model("program", "Lesson")
    Article = apps.get_model("program", "Article")
    answered = Exists(Comment.objects.filter(parent=OuterRef("pk"), status="approved"))
    shown = (
        Comment.objects.filter(parent__isnull=True)
        .annotate(answered=answered)
        .filter(Q(status="approved") | Q(status="removed", answered=True))
    )
    for model, field in ((Lesson, "lesson_id"), (Article, "article_id")):
        ids = Comment.objects.exclude(**{field: None}).values_list(field, flat=True).distinct()
        for pk in ids:
            size = shown.filter(**{field: pk}).count()
            model.objects.filter(pk=pk).update(thread_size=size)


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0001_initial"),
        ("program", "0011_speed_thread_size"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
