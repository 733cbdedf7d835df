"""Lamina api package."""
