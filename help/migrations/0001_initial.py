"""The consultation and mentoring requests, created by accounts/0003, belong to this app now.

The tables stay where they are: the state moves (accounts/0004 drops it there) and the content
types are relabelled, so permissions, the Support group and the admin log follow the models.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import help.models

MODELS = ["consultationrequest", "mentoringrequest"]


def relabel_content_types(old_label, new_label):
    def relabel(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        for model in MODELS:
            # Content types are created after migrate; a fresh database may have none yet, or
            # (when a migration created permissions in between) both, the new one already in use.
            if ContentType.objects.using(db).filter(app_label=new_label, model=model).exists():
                continue
            ContentType.objects.using(db).filter(app_label=old_label, model=model).update(
                app_label=new_label
            )
        ContentType.objects.clear_cache()

    return relabel


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0003_consultation_mentoring"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("program", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='MentoringRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=150)),
                        ('email', models.EmailField(max_length=254)),
                        ('message', models.TextField()),
                        ('preferred_times', models.CharField(blank=True, max_length=300)),
                        ('status', models.CharField(choices=[('new', 'New'), ('answered', 'Answered')], default='new', max_length=10)),
                        ('staff_reply', models.TextField(blank=True, help_text='The reply emailed to the person.')),
                        ('replied_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('replied_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='mentoring_replies', to=settings.AUTH_USER_MODEL)),
                        ('user', models.ForeignKey(blank=True, help_text='The account that sent it, when signed in.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='mentoring_requests', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_mentoringrequest',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='ConsultationRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=150)),
                        ('email', models.EmailField(max_length=254)),
                        ('pain_areas', models.JSONField(default=list, help_text='Body regions where it hurts (codes of BodyRegion).', validators=[help.models.validate_body_regions])),
                        ('how_started', models.TextField(verbose_name='how it started')),
                        ('injury_history', models.TextField(blank=True)),
                        ('symptoms', models.TextField()),
                        ('tried', models.TextField(blank=True, verbose_name='what was tried')),
                        ('goals', models.TextField()),
                        ('contact_preference', models.CharField(choices=[('email', 'Email'), ('phone', 'Phone')], default='email', max_length=10)),
                        ('phone', models.CharField(blank=True, max_length=40)),
                        ('status', models.CharField(choices=[('new', 'New'), ('answered', 'Answered')], default='new', max_length=10)),
                        ('staff_reply', models.TextField(blank=True, help_text='The reply emailed to the person.')),
                        ('replied_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('recommended_program', models.ForeignKey(blank=True, help_text='The program staff recommend; linked in the reply email.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='recommended_in_consultations', to='program.program')),
                        ('replied_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='consultation_replies', to=settings.AUTH_USER_MODEL)),
                        ('user', models.ForeignKey(blank=True, help_text='The account that sent it, when signed in.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='consultation_requests', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_consultationrequest',
                        'ordering': ['-created_at', '-id'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['new', 'answered'])), name='accounts_consultationrequest_status_valid')],
                    },
                ),
            ],
        ),
        migrations.RunPython(
            relabel_content_types("accounts", "help"),
            relabel_content_types("help", "accounts"),
        ),
    ]
