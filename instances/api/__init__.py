"""REST API of the instances app: database types, credentials, instances."""
