from django.db import migrations


def create_support_group(apps, schema_editor):
    from members.groups import support_group_sync

    support_group_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0001_member_notes_actions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing", "0002_refunds_and_disputes"),
        ("program", "0003_practice_tools"),
        ("accounts", "0003_consultation_mentoring"),
    ]

    operations = [migrations.RunPython(create_support_group, migrations.RunPython.noop)]
