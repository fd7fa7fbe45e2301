"""REST API of the classification app."""
