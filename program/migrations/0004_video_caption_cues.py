from django.db import migrations, models

from program.media.captions import captions_cues


def parse_existing_captions(apps, schema_editor):
    """Fill the new column from each video's own captions file (same row, no data moves)."""
    Video = apps.get_model("program", "Video")
    for video in Video.objects.exclude(captions="").iterator():
        video.caption_cues = captions_cues(video.captions)
        video.save(update_fields=["caption_cues"])


class Migration(migrations.Migration):
    dependencies = [
        ("program", "0003_practice_tools"),
    ]

    operations = [
        migrations.AddField(
            model_name="video",
            name="caption_cues",
            field=models.JSONField(
                blank=True,
                default=list,
                editable=False,
                help_text="The captions file parsed for the transcript, updated when the video is saved.",
            ),
        ),
        migrations.RunPython(parse_existing_captions, migrations.RunPython.noop, elidable=True),
    ]
