from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # The index is built without locking writes (subscribing goes on meanwhile); the new
    # column is nullable, so adding it rewrites nothing.
    atomic = False

    dependencies = [
        ("notify", "0018_delivery_device_partial_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="broadcast",
            name="topic_cursor",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        AddIndexConcurrently(
            model_name="subscription",
            index=models.Index(fields=["topic", "id"], name="subscription_topic_order"),
        ),
    ]
