"""The REST API at /api/v1: thin resources over the use cases, documented by OpenAPI."""
