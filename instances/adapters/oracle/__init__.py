"""Oracle engine adapter (python-oracledb thin mode)."""
