"""Lamina cli package."""
