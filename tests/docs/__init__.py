import pytest

# The README steps are plain modules: rewrite their asserts so a failure shows its values.
pytest.register_assert_rewrite(
    "tests.docs.examples", "tests.docs.reader", "tests.docs.readme_steps"
)
