"""The HTTP adapter: thin handlers over the service layer, problem documents, OpenAPI."""
