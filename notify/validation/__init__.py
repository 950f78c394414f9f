"""Input rules shared by the API, the admin and the services (rendered content is checked
with the same rules as inline content)."""
