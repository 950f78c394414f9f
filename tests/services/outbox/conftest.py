from tests.services.outbox.scripted import run

__all__ = ["run"]
