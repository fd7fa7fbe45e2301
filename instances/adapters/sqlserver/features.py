"""What the connected SQL Server supports, from its ProductVersion (read when the session starts)."""

from __future__ import annotations

from instances.adapters.common import version_tuple

#: ProductVersion major → release name
RELEASES = {11: "2012", 12: "2014", 13: "2016", 14: "2017", 15: "2019", 16: "2022", 17: "2025"}


class SQLServerFeatures:
    def __init__(self, product_version: str = ""):
        self.product_version = product_version
        self.version = version_tuple(product_version)

    @property
    def release(self) -> str:
        """"2019" for 15.x; the raw version for a major we do not know."""
        return RELEASES.get(self.version[0], self.product_version or "unknown")

    @property
    def has_connect_any_database(self) -> bool:
        """2014+: the server permission CONNECT ANY DATABASE (one grant instead of a user per database)."""
        return self.version[0] >= 12
