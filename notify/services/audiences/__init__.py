"""One message to many: topics, broadcasts and their chunked fan-out."""
