"""Lamina web package."""
