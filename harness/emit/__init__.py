"""What the code sends: each scenario emitted by the OpenTelemetry SDK, and the wire taps
(pass-throughs that record every OTLP request on its way to the next hop).
"""

from __future__ import annotations

from ._capture import Capture
from ._otlp import spans_from_json, spans_from_json_lines
from ._sdk import emit, plan
from ._taps import HttpPostTap, OtlpGrpcTap, otlp_decoder, otlp_http_decoder

__all__ = [
    "Capture",
    "HttpPostTap",
    "OtlpGrpcTap",
    "emit",
    "otlp_decoder",
    "otlp_http_decoder",
    "plan",
    "spans_from_json",
    "spans_from_json_lines",
]
