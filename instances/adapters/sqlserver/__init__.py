"""SQL Server engine adapter (pymssql)."""
