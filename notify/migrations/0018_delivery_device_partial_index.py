from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Both indexes are built and dropped without locking writes: the deliveries table is the
    # largest, and a plain CREATE or DROP INDEX would stop every accept and send meanwhile.
    atomic = False

    dependencies = [
        ("notify", "0017_notification_cancelled_at"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("device__isnull", False)),
                fields=["device"],
                name="delivery_device",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="device",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="+",
                        to="notify.device",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX CONCURRENTLY IF EXISTS notify_delivery_device_id_baa91765",
                    reverse_sql=(
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS "
                        "notify_delivery_device_id_baa91765 ON notify_delivery (device_id)"
                    ),
                ),
            ],
        ),
    ]
