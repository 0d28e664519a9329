"""Grafana Tempo: its adapter (a Tempo the user gives, its read paths and TraceQL searches)."""
