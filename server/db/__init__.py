"""MongoDB: the connection used by the app, and the embedded server for development."""
