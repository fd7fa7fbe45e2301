import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.support.factories import make_credential, make_instance

# live MariaDB/PostgreSQL targets and fake servers, shared by every test folder
pytest_plugins = ["tests.live_targets", "tests.support.slapd"]


@pytest.fixture
def credential(db):
    return make_credential()


@pytest.fixture
def instance(db):
    return make_instance()


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.com", "admin-pass")


@pytest.fixture
def api_client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def admin_client_logged_in(client, admin_user):
    client.force_login(admin_user)
    return client
