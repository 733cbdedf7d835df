"""Lamina services package."""
