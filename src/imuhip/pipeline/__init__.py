"""The session pipeline: one streaming pipeline for live use, replay and analysis.

:class:`SessionPipeline` runs every stage; :func:`analyze_session` feeds it a whole session
with the offline aligner. See ``docs/architecture.md`` for the flow.
"""

from imuhip.align.grid import LONG_GAP_S
from imuhip.pipeline.advice import (
    HEADING_SENSITIVITY,
    RATE_SHORTFALL,
    SLOW_INTERVAL_S,
    UNCHECKED_HEADING_S,
    heading_needs_rests,
    heading_warnings,
    rate_warning,
    rate_warnings,
    slow_link,
    slow_link_warning,
    timing_warnings,
    unchecked_heading_stretches,
)
from imuhip.pipeline.analyze import (
    AlignerKind,
    analyze_session,
    common_grid,
    make_pipeline,
    mark_sets,
)
from imuhip.pipeline.options import PipelineOptions
from imuhip.pipeline.session_pipeline import (
    RECOVERY_S,
    Grid,
    Keep,
    LegFailure,
    SessionAnalysis,
    SessionPipeline,
    TrackedAngles,
    check_calibration_data,
    gyro_scales,
    still_start_bias,
)
from imuhip.pipeline.state import LiveState, Status

__all__ = [
    "HEADING_SENSITIVITY",
    "LONG_GAP_S",
    "RATE_SHORTFALL",
    "RECOVERY_S",
    "SLOW_INTERVAL_S",
    "UNCHECKED_HEADING_S",
    "AlignerKind",
    "Grid",
    "Keep",
    "LegFailure",
    "LiveState",
    "PipelineOptions",
    "SessionAnalysis",
    "SessionPipeline",
    "Status",
    "TrackedAngles",
    "analyze_session",
    "check_calibration_data",
    "common_grid",
    "gyro_scales",
    "heading_needs_rests",
    "heading_warnings",
    "make_pipeline",
    "mark_sets",
    "rate_warning",
    "rate_warnings",
    "slow_link",
    "slow_link_warning",
    "still_start_bias",
    "timing_warnings",
    "unchecked_heading_stretches",
]
