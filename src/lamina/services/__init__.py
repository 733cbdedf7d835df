"""One module per use case; services depend on ports, never on adapters."""
