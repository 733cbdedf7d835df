"""The REST API (FastAPI): routers, HTTP schemas, auth, problem+json errors."""
