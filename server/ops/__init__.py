"""App-level operations pieces, wired by the app factory only: request ids and request
metrics, the database gate, the metrics endpoint."""
