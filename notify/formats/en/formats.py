"""Display formats for English (Django's own `en` formats fill in everything not named here).

Django's format characters have no `+00:00` offset outside the microsecond-long `c`, so the
offset is written `+0000` (ISO 8601's basic form, which datetime.fromisoformat and browsers
parse)."""

DATETIME_FORMAT = r"Y-m-d\TH:i:sO"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = DATE_FORMAT
TIME_FORMAT = "H:i:s"
