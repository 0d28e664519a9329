"""Jaeger: its adapter (service, read paths, storages, releases) and its UI's reader."""
