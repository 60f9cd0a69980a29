from tests.permissions.conftest import world  # noqa: F401 - the shared fixture
