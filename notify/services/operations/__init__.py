"""What operators do: retry, cancel, replay, pause, purge."""
