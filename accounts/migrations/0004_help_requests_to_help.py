"""The consultation and mentoring requests live in the help app (help/0001): forget them here,
leaving their tables untouched."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_consultation_mentoring"),
        ("help", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ConsultationRequest"),
                migrations.DeleteModel(name="MentoringRequest"),
            ],
        ),
    ]
