"""Test and benchmark support: factories and the deterministic "fake" engine."""
