from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0008_notification_tenant_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="rate_limit",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
    ]
