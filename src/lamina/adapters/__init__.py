"""Lamina adapters package."""
