import pytest

# The gathering tests' helpers are a plain module: rewrite its asserts so a failure shows its
# values.
pytest.register_assert_rewrite("tests.services.digests.comments")
