"""Date formats for the admin (FORMAT_MODULE_PATH): one ISO 8601 form with the UTC offset on
every page, instead of the English locale's "Dec. 2, 2026, 12:47 p.m."."""
