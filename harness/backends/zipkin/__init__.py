"""Zipkin: its adapter (service, read paths, the collector's link tags decoded) and Lens's reader."""
