"""Test fixtures (placeholder until the owning work lands)."""
