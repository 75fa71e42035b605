"""The choices along the session pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from imuhip.analysis.detector import DetectorParams


@dataclass(frozen=True)
class PipelineOptions:
    """Choices along the pipeline.

    Attributes:
        fusion_method: orientation filter (see :mod:`imuhip.fusion.orientation`); None = the
            default (VQF).
        fusion_params: filter parameters; None = imuhip's defaults (for VQF the package's
            own with rest bias estimation off, ``VQF_DEFAULTS``; the evidence is in
            docs/fusion.md).
        rate_hz: common grid rate; 0 = the thigh sensor's configured or measured rate.
        detector: rep/hold thresholds.
    """

    fusion_method: str | None = None
    fusion_params: dict | None = None
    rate_hz: float = 0.0
    detector: DetectorParams = field(default_factory=DetectorParams)
