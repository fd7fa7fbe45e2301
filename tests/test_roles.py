import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def test_migrate_creates_the_groups_with_their_permissions():
    # created by post_migrate when the test database was migrated
    viewer, operator, admin = (Group.objects.get(name=n) for n in ("viewer", "operator", "admin"))
    viewer_perms = set(viewer.permissions.values_list("codename", flat=True))
    operator_perms = set(operator.permissions.values_list("codename", flat=True))
    admin_perms = set(admin.permissions.values_list("codename", flat=True))
    assert "view_instance" in viewer_perms and "change_instance" not in viewer_perms
    assert "sync_instance" not in viewer_perms
    assert {"view_instanceaccount", "sync_instance"} <= operator_perms and "change_instance" not in operator_perms
    assert {"add_instance", "change_credential", "delete_classificationrule", "sync_instance"} <= admin_perms
