import pytest

# The helpers the API tests share are plain modules: rewrite their asserts so a failure shows
# its values.
pytest.register_assert_rewrite("tests.api.error_shape", "tests.api.notification_calls")
