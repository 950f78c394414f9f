"""Gunicorn's access log with the same masking as every other log line (notify.logs):
unsubscribe tokens, credential-like query values, contact points. Set as `logger_class` in
notify/observability/gunicorn.py, which every gunicorn of ours loads."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger, SafeAtoms

from notify.logs import mask

# Request/response headers that are credentials whole, should a custom access_log_format
# ask for one (%({authorization}i)s).
_SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "signature", "secret", "key")


class MaskedAtoms(SafeAtoms):
    """Masks each atom when the format reads it, so the ~40 atoms a line does not use cost
    nothing."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if not isinstance(value, str) or value == "-":
            return value
        is_header = key.startswith("{") and key[-1:] in ("i", "o")
        if is_header and any(word in key.lower() for word in _SECRET_HEADER_WORDS):
            return "***"
        if key == "q":  # the query string without its "?": mask it as a URL's tail
            return mask("?" + value)[1:]
        return mask(value)


class MaskedLogger(Logger):
    atoms_wrapper_class = MaskedAtoms
