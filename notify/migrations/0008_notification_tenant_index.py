from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking writes: on a live notifications table a plain CREATE INDEX
    # would stop every accept until it finished.
    atomic = False

    dependencies = [
        ("notify", "0007_template_versions"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(fields=["tenant", "-created_at"], name="notification_tenant_newest"),
        ),
    ]
