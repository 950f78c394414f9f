"""Settings, read from the environment (see .env.example and README "Configuration")."""

from notify.settings.base import *  # noqa: F403
from notify.settings.celery import *  # noqa: F403
from notify.settings.delivery import *  # noqa: F403
from notify.settings.observability import *  # noqa: F403
from notify.settings.providers import *  # noqa: F403
from notify.settings.rendering import *  # noqa: F403
from notify.settings.security import *  # noqa: F403
