"""Zipkin's pins: the server jar linkmatrix fetches from Maven Central, and the earlier release it
compares with. Change a Zipkin pin here and nowhere else."""

from __future__ import annotations

from ...stack import MavenFile

OFFICIAL_IMAGE = "openzipkin/zipkin"  # its releases' images, tagged with the version

ZIPKIN = MavenFile(name="zipkin", version="3.6.1", group="io.zipkin", artifact="zipkin-server",
                   classifier="exec", sha1="5800cc1f3d2eb8f38d2d6905d59f9a0414b6d7dd")
# An earlier release, to compare with (a backend of its own, run with --versions; its cells are set
# beside the pinned release's in the report's "Between versions").
ZIPKIN_PREVIOUS = MavenFile(name="zipkin", version="2.27.0", group="io.zipkin", artifact="zipkin-server",
                            classifier="exec", sha1="f8f1a5810ca682aa47d001c3a566cd58a23341fc")
