"""What the connected SQL Server is, from its ProductVersion (read when the session starts).

No catalog read depends on the version yet (every statement runs on 2012+, checked by
tests/instances/adapters/test_catalog_sql.py); a version switch goes here when one does."""

from __future__ import annotations

from instances.adapters.common import version_tuple


class SQLServerFeatures:
    def __init__(self, product_version: str = ""):
        self.product_version = product_version
        self.version = version_tuple(product_version)
