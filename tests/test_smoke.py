def test_instance_factory_roundtrip(instance):
    assert instance.credential.get_password() == "s3cret-pass"
    assert instance.db_type_id == "postgresql"
