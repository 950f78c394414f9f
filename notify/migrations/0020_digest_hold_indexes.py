from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking writes: accepting, joining and flushing go on meanwhile.
    atomic = False

    dependencies = [
        ("notify", "0019_broadcast_topic_cursor"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="digest",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["tenant", "flush_at"],
                name="digest_open_tenant_due",
            ),
        ),
        AddIndexConcurrently(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("error_code", "digest_flush"), ("status", "pending")),
                fields=["lease_token"],
                name="delivery_flush_held",
            ),
        ),
    ]
