from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notify", "0009_apikey_rate_limit"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="pause",
            name="pause_one_open_per_target",
        ),
        migrations.AddField(
            model_name="pause",
            name="tenant",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddConstraint(
            model_name="pause",
            constraint=models.UniqueConstraint(
                condition=models.Q(("resumed_at__isnull", True)),
                fields=("kind", "target", "tenant"),
                name="pause_one_open_per_target_tenant",
            ),
        ),
    ]
