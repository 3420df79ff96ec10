"""Deployment tooling: the local CeleryExecutor cluster (``deploy.local_cluster``)."""
