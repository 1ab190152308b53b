from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_login_sessions_and_case_insensitive_accounts"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="trace_parent",
            field=models.CharField(blank=True, default="", max_length=55),
        ),
    ]
