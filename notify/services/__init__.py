"""Business logic, as `<entity>_<verb>(*, …)` functions. Views, serializers, admin actions and
Celery tasks only parse input and call these."""
