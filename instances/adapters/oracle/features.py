"""What the connected Oracle Database supports, from the version python-oracledb
reports at login (thin mode: the full release-update version, no statement)."""

from __future__ import annotations

from instances.adapters.common import version_tuple


class OracleFeatures:
    def __init__(self, driver_version: str | None):
        self.driver_version = driver_version or ""
        self.version = version_tuple(self.driver_version)

    @property
    def has_version_full(self) -> bool:
        """18c+: PRODUCT_COMPONENT_VERSION.VERSION_FULL (VERSION says 19.0.0.0.0 for every 19c RU)."""
        return self.version[0] >= 18
