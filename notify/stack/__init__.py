"""The dev/CI launcher: `python -m notify.stack <run|env|test|services|stop>`.

It finds (or starts) Postgres and Redis, prepares Django, and runs the web, worker, beat,
Flower and provider-sandbox processes under one supervisor, so `make run` and `make test`
work on a laptop with nothing installed as well as on a machine with local services.
"""
