"""Who may call the API and how often: API keys and the per-key rate limit."""
