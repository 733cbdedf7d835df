"""Importers: profiles written for other systems mapped to Lamina profile documents, each
with an import report saying what mapped, what was approximated and what could not be
mapped, with a path into the source document. Pure: parsing YAML text is a function the
caller passes in."""
