"""The migrations describe the models as they are: a model change without its migration
would reach a deployment as a schema the code does not expect."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_models_need_no_migration_that_is_not_written() -> None:
    # --check exits non-zero when makemigrations would write something.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
