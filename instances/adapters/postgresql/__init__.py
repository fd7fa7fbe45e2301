"""PostgreSQL adapter (psycopg 3)."""
