"""The local file-system storage backend."""
