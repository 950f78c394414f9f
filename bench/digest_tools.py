"""Set-up and trigger for the digests phase, run against the code under test:

python -m bench.digest_tools template KEY   the digest template (email: count + items)
python -m bench.digest_tools due            every open digest due now (the operator's
                                            "flush now": one UPDATE, then the stream's
                                            doorbell rings every worker's dispatcher)"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notify.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402

from notify.models.digests import Digest  # noqa: E402
from notify.models.templates import Template  # noqa: E402
from notify.services.digests.gathering import digests_flush_now  # noqa: E402

TEMPLATE = {
    "email": {
        "subject": "{{ digest.count }} updates for you",
        "text": "{% for item in digest.items %}- {{ item.data.title }}\n{% endfor %}",
    }
}


def template(key: str) -> None:
    Template.objects.update_or_create(
        tenant="default", key=key, locale="", defaults={"content": TEMPLATE}
    )


def due() -> int:
    with transaction.atomic():
        ids = list(Digest.objects.filter(status="open").values_list("id", flat=True))
        return digests_flush_now(digest_ids=ids)


if __name__ == "__main__":
    if sys.argv[1] == "template":
        template(sys.argv[2])
    else:
        print(due())
