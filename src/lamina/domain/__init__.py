"""Pure rules of Lamina: no I/O, no outside libraries."""
