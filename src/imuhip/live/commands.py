"""What ``imuhip scan``, ``pair``, ``record``, ``live``, ``demo`` and ``replay`` do (the CLI
only parses arguments and calls these)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from imuhip import __version__
from imuhip.align.causal import CausalAligner
from imuhip.align.host_clock import LOSS_WINDOW_S
from imuhip.errors import ImuhipError
from imuhip.exercises import (
    SENSOR_CAL,
    TECHNIQUE_KEY,
    UNSPECIFIED,
    ExerciseName,
    parse_exercise,
)
from imuhip.layout import BOTH, layout_of
from imuhip.live.runner import (
    RunOptions,
    RunResult,
    link_interval,
    run_session,
    scaled_clock,
    session_clock,
)
from imuhip.pipeline import (
    AlignerKind,
    Keep,
    SessionPipeline,
    make_pipeline,
    rate_warning,
    slow_link,
    slow_link_warning,
)
from imuhip.session import SensorInfo, SessionHeader, input_time
from imuhip.sinks.live_view import (
    MISSING,
    REJECTED,
    KeyReader,
    PlainView,
    make_view,
    summary_line,
)
from imuhip.sources.ble.stack import check_os_stack

if TYPE_CHECKING:  # the BLE edge (and its event loop) is loaded only when a session runs
    from imuhip.sources.ble.edge import LinkThread

#: The exercise name of a recording of table turns (``imuhip sensor-cal``): no leg prompts.
SENSOR_CAL_EXERCISE = SENSOR_CAL

DEFAULT_RATE_HZ = 100.0


# --------------------------------------------------------------------------- helpers


def backend_for(spec: str | None) -> Any:
    """The BLE backend for ``--ble SPEC`` (then ``IMUHIP_BLE``, then the OS stack)."""
    from imuhip.sources.ble.bumble_backend import ble_backend

    try:
        return ble_backend(spec)
    except ValueError as exc:
        raise ImuhipError(str(exc)) from None


def session_filename(side: str, exercise: str, when: datetime | None = None) -> str:
    """``YYYY-MM-DD_HHMMSS_<side>_<exercise>.imuhip``."""
    when = when or datetime.now()
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in exercise) or "session"
    return f"{when:%Y-%m-%d_%H%M%S}_{side}_{safe}.imuhip"


def output_path(output: str | None, folder: str | None, side: str, exercise: str) -> Path:
    """``-o FILE`` as given, else a file named by date, side and exercise in ``--folder``
    (default: the current directory)."""
    if output:
        return Path(output)
    d = Path(folder or ".")
    d.mkdir(parents=True, exist_ok=True)
    return d / session_filename(side, exercise)


def scan_devices(timeout: float, backend: Any, rig: Any = None) -> list[Any]:
    """What advertises during ``timeout`` seconds (:class:`~imuhip.sources.ble.scan.Found`),
    scanned on the BLE edge's thread; ``rig`` (a :class:`~imuhip.live.rehearsal.VirtualRig`)
    puts virtual sensors on the air meanwhile."""
    from imuhip.sources.ble.edge import LinkThread

    with LinkThread(backend) as link:
        if rig is not None:
            rig.power_on(link)
        return link.scan(timeout)


def _print(text: str = "", out: TextIO | None = None) -> None:
    print(text, file=out or sys.stdout, flush=True)


def _lsl_publisher(pipe: SessionPipeline, source: str, speed: float, wait_s: float) -> Any:
    """The LSL outlets of ``--lsl`` (:mod:`imuhip.sinks.lsl`), announced on standard error;
    waits up to ``wait_s`` for a recorder to connect (``--lsl-wait``)."""
    from imuhip.sinks.lsl import ANGLES_STREAM, EVENTS_STREAM, LslPublisher

    pub = LslPublisher(pipe, source, speed)
    print(f"imuhip: publishing LSL streams {ANGLES_STREAM} and {EVENTS_STREAM}",
          file=sys.stderr, flush=True)  # fmt: skip
    if wait_s > 0 and not pub.wait_for_consumers(wait_s):
        print(f"imuhip: no LSL recorder connected within {wait_s:g} s; going on",
              file=sys.stderr, flush=True)  # fmt: skip
    return pub


# --------------------------------------------------------------------------- scan, pair


def scan_command(timeout: float, spec: str | None, out: TextIO | None = None) -> int:
    """Print every advertising device, recognised sensors first."""
    from imuhip.live.rehearsal import rehearsal_for, scan_rig

    rehearsal = rehearsal_for(spec)
    backend = backend_for(spec)
    found = scan_devices(timeout, backend, scan_rig(rehearsal))
    if not found:
        _print(f"no Bluetooth LE devices found in {timeout:g} s", out)
        return 0
    _print(f"{'address':<20} {'rssi':>5}  {'profile':<16} name", out)
    for f in found:
        _print(f"{f.address:<20} {f.rssi:>5}  {f.profile or '-':<16} {f.name}", out)
    n = sum(f.recognised for f in found)
    if rehearsal is not None:
        _print(f"{n} virtual sensor(s) of a simulated leg; pair them with: "
               f"{rehearsal.pair_hint()}", out)  # fmt: skip
        return 0
    _print(f"{n} recognised sensor(s); pair them with: imuhip pair --thigh ADDR --shin ADDR "
           "--side left|right", out)  # fmt: skip
    return 0


def _profile_options(profiles: Sequence[str] | None) -> tuple[str | None, dict[str, str]]:
    """``--profile P`` (all sensors) and/or ``--profile ROLE=P`` (one sensor)."""
    common: str | None = None
    per_role: dict[str, str] = {}
    for p in profiles or ():
        if "=" in p:
            role, name = p.split("=", 1)
            per_role[role.strip()] = name.strip()
        else:
            common = p.strip()
    return common, per_role


def resolve_sensors(
    addresses: dict[str, str],
    profiles: Sequence[str] | None,
    *,
    spec: str | None,
    timeout: float,
    out: TextIO | None = None,
) -> dict[str, tuple[str, str, str]]:
    """role -> (address, profile, name): profiles as given, else recognised by a scan."""
    from imuhip.decode.profile import get_profile

    common, per_role = _profile_options(profiles)
    chosen: dict[str, str | None] = {r: per_role.get(r, common) for r in addresses}
    for name in chosen.values():
        if name:
            get_profile(name)  # unknown profile: a clear error now
    names = dict.fromkeys(addresses, "")
    if any(p is None for p in chosen.values()):
        from imuhip.live.rehearsal import rehearsal_for, scan_rig

        backend = backend_for(spec)
        if backend is None:
            check_os_stack()
        _print(f"scanning {timeout:g} s to recognise the sensors…", out)
        rig = scan_rig(rehearsal_for(spec))
        found = {f.address.upper(): f for f in scan_devices(timeout, backend, rig)}
        for role, addr in addresses.items():
            f = found.get(addr.upper())
            if f is not None:
                names[role] = f.name
            if chosen[role] is None:
                if f is None:
                    raise ImuhipError(
                        f"{role} sensor {addr} was not seen while scanning: switch it on and "
                        "bring it close, or give its profile with --profile"
                    )
                if f.profile is None:
                    raise ImuhipError(
                        f"{role} sensor {addr} ({f.name or 'no name'}) is not a sensor imuhip "
                        "recognises; give its profile with --profile"
                    )
                chosen[role] = f.profile
    return {r: (addresses[r], str(chosen[r]), names[r]) for r in addresses}


def pair_command(
    addresses: Mapping[str, str],
    side: str,
    profiles: Sequence[str] | None,
    *,
    spec: str | None,
    timeout: float,
    out: TextIO | None = None,
) -> int:
    """Save which sensor sits where (address by role, :mod:`imuhip.layout`) and the side
    ("both" for two legs) for ``record`` and ``live``; the roles must form a valid layout."""
    from imuhip.config import PairedSensor, Pairing, save_pairing

    layout_of(list(addresses), side)  # a set that cannot be recorded: refused before a scan
    got = resolve_sensors(dict(addresses), profiles, spec=spec, timeout=timeout, out=out)
    pairing = Pairing(side, {r: PairedSensor(a.upper(), p, n) for r, (a, p, n) in got.items()})
    path = save_pairing(pairing)
    width = max(7, *(len(r) for r in pairing.sensors))
    for role, s in pairing.sensors.items():
        _print(f"{role:<{width}} {s.address}  {s.profile}  {s.name}", out)
    layout = pairing.layout
    what = f"{side} leg" if len(layout.legs) == 1 and not layout.shin_only else layout.describe()
    _print(f"saved the pairing ({what}) to {path}", out)
    return 0


def assignments_for(
    *,
    addresses: Mapping[str, str] | None,
    side: str | None,
    profiles: Sequence[str] | None,
    spec: str | None,
    rate_hz: float = DEFAULT_RATE_HZ,
    timeout: float = 5.0,
    out: TextIO | None = None,
) -> tuple[list[Any], str]:
    """The sensors to record and the side: from ``addresses`` by role (the role flags,
    checked as a layout by the CLI; profiles given or recognised by a scan) or else the saved
    pairing (every sensor of its layout, up to six; ``side`` of a pairing of both legs: that
    leg's sensors only)."""
    from imuhip.config import load_pairing
    from imuhip.sources.ble.connection import Assignment

    if addresses:
        if side is None:
            raise ImuhipError("give --side left|right with --thigh and --shin")
        layout_of(list(addresses), side)
        got = resolve_sensors(dict(addresses), profiles, spec=spec, timeout=timeout, out=out)
        sensors = [(r, a, p, n) for r, (a, p, n) in got.items()]
    else:
        pairing = load_pairing()
        if side is not None and side != pairing.side:
            pairing = pairing.for_side(side)
        layout = pairing.layout
        side = layout.side
        sensors = [(r, *_paired(pairing.sensors[r])) for r in layout.roles]
    return [Assignment(r, a, p, rate_hz, name=n) for r, a, p, n in sensors], side


def _paired(s: Any) -> tuple[str, str, str]:
    return s.address, s.profile, s.name


# --------------------------------------------------------------------------- record, live


def print_result(result: RunResult, path: Path | None, out: TextIO | None = None) -> list[str]:
    """The end-of-session summary: recording, then the live analysis's figures. Returns the
    warnings it printed (so an analysis printed after it need not repeat them)."""
    pipe = result.pipeline
    _print("", out)
    if path is not None:
        from imuhip.files.session_file import read_summary
        from imuhip.sinks.analysis_text import data_span_text

        try:
            span = data_span_text(*read_summary(path).time_range)  # as analyze will say it
        except ImuhipError:  # not there (or not readable): what the session lasted
            span = f"{result.duration_s:.1f} s"
        _print(f"wrote {path} ({span}, {result.notifications_written} notifications)",
               out)  # fmt: skip
    slow: list[str] = []  # timing warnings for sensors timed from arrivals
    for role, st in result.status.items():
        h = pipe.state.sensors.get(role)
        rate = "-" if h is None or h.rate_hz is None else f"{h.rate_hz:.0f} Hz"
        interval = link_interval(st, h)
        link = "" if interval is None else f", interval {1e3 * interval:g} ms"
        _print(
            f"  {role:<7} {st.notifications} notifications, {h.samples if h else 0} samples, "
            f"rate {rate}{link}, connection losses {st.losses}, "
            f"{MISSING} samples {h.lost_samples if h else 0}, "
            f"{REJECTED} notifications {h.dropped if h else 0}",
            out,
        )
        nominal = pipe.header.sensor(role).rate_hz
        if h is not None and interval is not None and slow_link(h.timing, interval):
            period = 1.0 / nominal if nominal else 0.0
            slow.append(slow_link_warning(role, interval, period))
        if h is not None and h.timing == "reconstructed" and st.connected_s >= 1.0:
            short = rate_warning(role, h.samples / st.connected_s, nominal)
            slow += [short] if short else []
    for w in slow:
        _print(f"warning: {w}", out)
    gaps = [e for e in result.events if e.kind in ("connection_lost", "connection_restored")]
    for e in gaps:
        extra = f" after {e.data['gap_s']:.1f} s" if "gap_s" in e.data else ""
        _print(f"  {e.t:7.1f} s  {e.sensor} {e.kind.replace('_', ' ')}{extra}", out)
    if result.guidance is not None and result.guidance.abandoned:
        _print(f"calibration guidance: {result.guidance.detail}", out)
    if pipe.header.exercise == SENSOR_CAL_EXERCISE:  # turns on a table, not a leg session
        where = "SESSION" if path is None else str(path)
        _print(f"gyro calibration recording: next, imuhip sensor-cal {where}", out)
        return slow
    st = pipe.state
    if st.status == "ready":
        _print("live result: " + summary_line(pipe.summary()), out)
    elif st.status == "failed":
        _print(f"not calibrated: {st.message}", out)
    else:
        _print("not calibrated: the calibration protocol was not completed", out)
    return slow


def _with_saved_calibration(info: SensorInfo) -> SensorInfo:
    """The header entry with the sensor's saved gyro scale (``imuhip sensor-cal``), if any."""
    from imuhip.config import ConfigError, load_gyro_scales, sensor_calibration_path
    from imuhip.fusion.gyro_scale import CONFIG_KEY, GyroScaleError, scale_from_config

    scale = load_gyro_scales().get(info.address.upper()) if info.address else None
    if scale is None:
        return info
    try:
        scale_from_config({CONFIG_KEY: scale})
    except GyroScaleError as exc:
        raise ConfigError(
            f"{sensor_calibration_path()}: {info.address}: {exc}; run 'imuhip sensor-cal' again"
        ) from exc
    return replace(info, config={**info.config, CONFIG_KEY: scale})


def _technique(name: ExerciseName) -> dict[str, str]:
    """The header ``extra`` entry naming the technique the user gave (none for a pose)."""
    return {TECHNIQUE_KEY: name.technique} if name.technique else {}


def live_header(assignments: Sequence[Any], side: str, exercise: str, extra: dict | None = None):
    """The header of a live session: the sensors with their saved gyro scales (``imuhip
    sensor-cal``), on the host's monotonic clock."""
    return SessionHeader(
        side=side,
        exercise=exercise,
        sensors=tuple(_with_saved_calibration(a.sensor_info()) for a in assignments),
        imuhip_version=__version__,
        time_base="host-monotonic",
        extra=extra or {},
    )


def live_command(
    assignments: list[Any],
    side: str,
    *,
    exercise: ExerciseName | str,
    spec: str | None,
    path: Path | None,
    duration_s: float | None,
    hold_target_s: float | None = None,
    plain: bool | None = None,
    angles: bool = True,
    out: TextIO | None = None,
    settings: Any = None,
    guidance: bool = True,
    overwrite: bool = False,
    lsl: bool = False,
    lsl_wait_s: float = 0.0,
) -> int:
    """Record (unless ``path`` is None) and show a live session; prints the summary.
    ``guidance=False``: no calibration prompts (a table calibration of the sensors);
    ``overwrite``: replace an existing ``path`` (else it is refused before connecting);
    ``lsl``: publish the angles and events as LSL streams (after waiting up to
    ``lsl_wait_s`` for a recorder)."""
    from imuhip.files.session_file import SessionWriter
    from imuhip.live.rehearsal import rehearsal_for, session_rig
    from imuhip.sources.ble.connection import check_assignments

    check_assignments(assignments)  # one sensor for two roles: refused before any file or scan
    if path is not None and path.exists() and not overwrite:
        raise ImuhipError(f"{path} exists; use -f to overwrite it")
    name = (
        exercise
        if isinstance(exercise, ExerciseName)
        else parse_exercise(exercise, (UNSPECIFIED, SENSOR_CAL))
    )
    backend = backend_for(spec)
    rehearsal = rehearsal_for(spec)
    rig = session_rig(rehearsal, assignments, side, name.pose, duration_s)
    plan = _live_plan(assignments, side, name, rig, rehearsal, settings, lsl)
    view = PlainView(out, angles=angles) if plain else make_view(plain, angles=angles)
    opts = RunOptions(
        duration_s=duration_s,
        hold_target_s=hold_target_s,
        title=f"imuhip — {'both legs' if side == BOTH else f'{side} leg'}, {name}",
        recording=None if path is None else str(path),
        guidance=guidance,
        schedule=None if rig is None or not guidance else rig.schedule,
    )
    if backend is None:
        check_os_stack()  # before a file is made or a view shown
    if lsl:
        plan, view = _with_lsl(plan, view, "live", 1.0, lsl_wait_s)
    writer = SessionWriter(path, plan.header, overwrite=overwrite) if path is not None else None
    result: RunResult | None = None
    try:
        result = _run_live(assignments, plan, view, writer, backend, opts, rig)
    finally:
        if writer is not None:
            writer.close()
            if result is None or result.notifications_written == 0:
                path = _remove_empty(path, failed=result is None, out=out)
    print_result(result, path, out)
    return 0


@dataclass(frozen=True)
class _LivePlan:
    """What a live session runs on: its header, session clock, pipeline (None: the default
    one) and connection timing (None: the default)."""

    header: SessionHeader
    clock: Callable[[], float]
    pipeline: SessionPipeline | None
    settings: Any


def _live_plan(
    assignments: Sequence[Any],
    side: str,
    name: ExerciseName,
    rig: Any,
    rehearsal: Any,
    settings: Any,
    lsl: bool,
) -> _LivePlan:
    """The header (the rig's simulated leg noted), and for an accelerated rehearsal its
    scaled clock, demo timing and a causal pipeline with a loss window on that clock."""
    clock, origin = session_clock()
    extra = {"time_origin_monotonic_s": origin, **_technique(name)}
    if rig is not None:  # a simulated leg on virtual sensors, guided as in the demo
        extra.update(rig.header_extra())
    header = live_header(assignments, side, name.pose, extra)
    if rig is None or rehearsal is None or rehearsal.speed == 1:
        return _LivePlan(header, clock, None, settings)
    from imuhip.live.demo import demo_settings

    window = LOSS_WINDOW_S * rehearsal.speed
    pipeline = SessionPipeline(
        header, aligner=CausalAligner(header, loss_window_s=window), angle_feed=lsl
    )
    return _LivePlan(
        header,
        scaled_clock(rehearsal.speed, clock),
        pipeline,
        settings or demo_settings(rehearsal.speed),
    )


def _with_lsl(
    plan: _LivePlan, view: Any, source: str, speed: float, wait_s: float
) -> tuple[_LivePlan, Any]:
    """The plan with an angle-feeding pipeline, and the view wrapped to publish it on LSL."""
    from imuhip.sinks.lsl import LslView

    pipeline = plan.pipeline or SessionPipeline(plan.header, angle_feed=True)
    pub = _lsl_publisher(pipeline, source, speed, wait_s)
    pub.anchor(plan.clock)
    return replace(plan, pipeline=pipeline), LslView(view, pub, wait_s)


def _run_live(
    assignments: Sequence[Any],
    plan: _LivePlan,
    view: Any,
    writer: Any,
    backend: Any,
    opts: RunOptions,
    rig: Any,
) -> RunResult:
    """The session on a BLE edge of its own (``rig``'s virtual sensors on its radio)."""
    from imuhip.sources.ble.edge import LinkThread

    with KeyReader() as keys, LinkThread(backend) as link:
        if rig is not None:
            rig.power_on(link)
        return run_session(
            assignments, plan.header, view, writer=writer, options=opts,
            keys=keys if keys.enabled else None, settings=plan.settings, clock=plan.clock,
            on_streaming=None if rig is None else rig.begin, pipeline=plan.pipeline,
            link=link,
        )  # fmt: skip


def _remove_empty(path: Path | None, *, failed: bool, out: TextIO | None) -> None:
    """Delete a session file that never received data (a failed start, or ended at once) and
    say so: on stderr when the session failed (the error follows), else in ``out``."""
    if path is None:
        return None
    path.unlink(missing_ok=True)
    text = f"removed {path}: no data was received"
    if failed:
        print(f"imuhip: {text}", file=sys.stderr, flush=True)
    else:
        _print(text, out)
    return None


# --------------------------------------------------------------------------- demo


def demo_command(
    *,
    exercise: ExerciseName | str,
    side: str,
    content: str,
    speed: float,
    duration_s: float,
    seed: int,
    path: Path,
    hold_target_s: float | None = None,
    plain: bool | None = None,
    out: TextIO | None = None,
    overwrite: bool = False,
    lsl: bool = False,
    lsl_wait_s: float = 0.0,
    layout: str = "one-leg",
    pelvis: bool = False,
) -> int:
    """Run the demo (see :mod:`imuhip.live.demo`), then print the analysis of its file;
    ``lsl``: publish the angles and events as LSL streams (as :func:`live_command`);
    ``layout``/``pelvis``: the simulated sensors (both legs, shin only, a sacrum sensor)."""
    from imuhip.live.demo import demo_rig
    from imuhip.sources.ble.edge import LinkThread

    name = exercise if isinstance(exercise, ExerciseName) else parse_exercise(exercise)
    if speed <= 0:
        raise ImuhipError("--speed must be positive")
    if path.exists() and not overwrite:
        raise ImuhipError(f"{path} exists; use -f to overwrite it")
    view = PlainView(out) if plain else make_view(plain)
    rig = demo_rig(name.pose, side, content, duration_s, speed, seed, layout=layout, pelvis=pelvis)
    with LinkThread(backend_for("bumble:virtual")) as link:
        rig.power_on(link)
        legs = rig.sim.header.layout.describe()
        title = f"imuhip demo — simulated {legs}, {name.pose}, {content}" + (
            f", {speed:g}x speed" if speed != 1 else ""
        )
        plan = _demo_plan(rig, name, speed, lsl)
        if lsl:
            plan, view = _with_lsl(plan, view, "demo", speed, lsl_wait_s)
        opts = RunOptions(
            duration_s=rig.sim.script.duration_s,
            schedule=rig.sim.script.guidance_schedule(),
            hold_target_s=hold_target_s,
            title=title,
            recording=str(path),
        )
        result = _record_demo(rig, link, plan, view, opts, path, overwrite)
    return _demo_summary(result, rig, path, out)


def _demo_plan(rig: Any, name: ExerciseName, speed: float, lsl: bool) -> _LivePlan:
    """The demo's header (the simulation noted), its clock (``speed`` times real time) and a
    causal pipeline with a loss window on that clock."""
    from imuhip.live.demo import demo_settings

    clock, origin = session_clock()
    header = rig.header()
    extra = {**header.extra, "time_origin_monotonic_s": origin, **_technique(name)}
    header = replace(header, extra=extra)
    window = LOSS_WINDOW_S * max(1.0, speed)
    pipe = SessionPipeline(
        header, aligner=CausalAligner(header, loss_window_s=window), angle_feed=lsl
    )
    return _LivePlan(header, scaled_clock(speed, clock), pipe, demo_settings(speed))


def _record_demo(
    rig: Any,
    link: LinkThread,
    plan: _LivePlan,
    view: Any,
    opts: RunOptions,
    path: Path,
    overwrite: bool,
) -> RunResult:
    """The demo session recorded to ``path`` through ``link`` (the rig's sensors on it)."""
    from imuhip.files.session_file import SessionWriter

    with SessionWriter(path, plan.header, overwrite=overwrite) as writer, KeyReader() as keys:
        return run_session(
            rig.assignments(), plan.header, view, writer=writer, options=opts,
            settings=plan.settings, clock=plan.clock, keys=keys if keys.enabled else None,
            on_streaming=rig.begin, pipeline=plan.pipeline, link=link,
        )  # fmt: skip


def _demo_summary(result: RunResult, rig: Any, path: Path, out: TextIO | None) -> int:
    """The session's summary, the simulator's truth and the analysis of the file."""
    from imuhip.pipeline import analyze_session
    from imuhip.sinks.analysis_text import analysis_document, analysis_text
    from imuhip.sinks.file_warnings import read_session_noting

    shown = print_result(result, path, out)
    for leg in rig.sim.header.layout.legs:
        truth = rig.sim.truth.leg(leg.side).events
        who = f" ({leg.side} leg)" if len(rig.sim.header.layout.legs) > 1 else ""
        _print(f"simulator truth{who}: {len(truth['reps'])} reps, {len(truth['holds'])} holds", out)
    for r, sensor in rig.sensors.items():
        st = sensor.stats
        _print(f"  virtual {r}: sent {st.notifications} notifications, {st.samples_sent} samples"
               f" ({st.samples_unsent} while not streaming)", out)  # fmt: skip
    session = read_session_noting(path)
    try:
        analysis = analyze_session(session)
    except ImuhipError as exc:
        _print(f"analysis of {path}: {exc}", out)
        return 0
    except Exception as exc:  # the file is complete; a failing analysis must not hide that
        _print(f"analysis of {path} failed: {type(exc).__name__}: {exc}", out)
        return 0
    doc = analysis_document(session, analysis)
    doc["warnings"] = [w for w in doc["warnings"] if w not in shown]  # printed just above
    _print("", out)
    _print(analysis_text(path, doc), out)
    return 0


# --------------------------------------------------------------------------- replay


#: Session time (s) a paced replay (or one publishing LSL streams) advances the view by.
REPLAY_STEP_S = 0.1
#: ... and an unpaced one (``--speed max``).
FAST_REPLAY_STEP_S = 1.0


def replay_command(
    session_path: str,
    *,
    speed: str,
    hold_target_s: float | None = None,
    plain: bool | None = None,
    out: TextIO | None = None,
    as_json: bool = False,
    aligner: AlignerKind = "causal",
    lsl: bool = False,
    lsl_wait_s: float = 0.0,
) -> int:
    """Show a recorded session through the session pipeline and the live view, paced by its
    times. ``aligner``: "causal" times the samples as live did (the view follows the data),
    "offline" as ``analyze`` does (the result equals ``analyze``'s; the view fills at the
    end). With ``as_json`` the result is the ``analyze --json`` document, alone on ``out``;
    the view goes to standard error. ``lsl``: publish the angles and events as LSL streams
    (after waiting up to ``lsl_wait_s`` for a recorder), stamped at the replay's pace."""
    from imuhip.files.session_file import FileInputs
    from imuhip.live.replay import replay
    from imuhip.sinks.file_warnings import note_read_report

    pace = _speed(speed)
    items = FileInputs(session_path)  # streamed from the file, in arrival order
    note_read_report(session_path, items.summary.report)
    session = items.summary
    # the document at the end needs no per-sample array (flat memory on long sessions)
    pipe = make_pipeline(
        session.header, aligner=aligner, saved=True, angle_feed=lsl, keep=Keep.EVENTS
    )
    if not items:
        raise ImuhipError(f"{session_path} holds no data")
    view = PlainView(sys.stderr) if as_json else PlainView(out) if plain else make_view(plain)
    title = f"imuhip replay — {Path(session_path).name} ({session.header.side} leg, " \
        f"{session.header.exercise})"  # fmt: skip
    t0 = input_time(items[0])
    pub = None
    if lsl:
        from imuhip.sinks.lsl import LslView

        pub = _lsl_publisher(pipe, "replay", pace or 1.0, lsl_wait_s)
        view = LslView(view, pub, lsl_wait_s)
    shown = _ReplayShow(pipe, view, title, session.events, t0, input_time(items[-1]),
                        hold_target_s)  # fmt: skip
    view.start(title)
    try:
        if pub is not None:
            pub.anchor(lambda: t0)
        # as fast as possible: steps of a second (the same result: the pipeline does not
        # depend on how its input is cut; half the CPU of tenths)
        step = REPLAY_STEP_S if pace is not None or lsl else FAST_REPLAY_STEP_S
        replay(items, pipe, speed=pace, step_s=step, on_step=shown.on_step)
        n = len(pipe.events)
        pipe.finish()
        view.analysis(pipe.events[n:])
    finally:
        view.close()
    _print_replay_result(session, pipe, as_json, out)
    return 0


class _ReplayShow:
    """The live view of a replay: updated after every step, the guidance shown from the
    file's calibration phase marks."""

    #: Session events a replay notes in the view.
    NOTED = ("connection_lost", "connection_restored", "mark", "pause", "resume")

    def __init__(
        self,
        pipe: SessionPipeline,
        view: Any,
        title: str,
        events: Sequence[Any],
        t0: float,
        t_end: float,
        hold_target_s: float | None,
    ) -> None:
        self.pipe = pipe
        self.view = view
        self.title = title
        self.marks = [e for e in events if e.kind == "calibration_phase"]
        self.t0 = t0
        self.total_s = max(t_end - t0, 1e-3)
        self.hold_target_s = hold_target_s

    def guidance_at(self, t: float) -> Any:
        """The guidance as it stood at ``t`` (the step of the latest mark), or None."""
        from imuhip.calibration_protocol import STEPS, GuidanceStatus

        seen = [e for e in self.marks if e.t <= t]
        if not seen:
            return None
        # the step of the latest mark (a refused calibration is guided again: marks repeat)
        phase = seen[-1].data.get("phase")
        i = next((k for k, s in enumerate(STEPS) if s.phase == phase), len(STEPS) - 1)
        step = STEPS[i]
        if self.pipe.state.status == "ready":
            return GuidanceStatus(len(STEPS), len(STEPS), None, "Calibration done", 1.0, done=True)
        prog = min(1.0, (t - seen[-1].t) / step.duration_s)
        return GuidanceStatus(i, len(STEPS), step.phase, step.prompt, prog)

    def on_step(self, t: float, evs: list[Any], events: list[Any]) -> None:
        """After a replay step: the analysis events, the noted session events, the view."""
        from imuhip.sinks.live_view import SensorLine, Snapshot

        view, pipe = self.view, self.pipe
        view.analysis(evs)
        for e in events:
            if e.kind in self.NOTED:
                view.note(f"{e.t:.1f} s: {e.kind}" + (f" ({e.sensor})" if e.sensor else ""))
        lines = tuple(
            SensorLine(r, "file", h.rate_hz, h.dropped, h.lost_samples)
            for r, h in pipe.state.sensors.items()
        )
        view.update(
            Snapshot(
                self.title,
                t,
                pipe.state,
                lines,
                self.guidance_at(t),
                duration_s=self.total_s,
                hold_target_s=self.hold_target_s,
                started_s=self.t0,
                legs=pipe.leg_states(),
            )
        )


def _print_replay_result(
    session: Any, pipe: SessionPipeline, as_json: bool, out: TextIO | None
) -> None:
    """The replay's result: the ``analyze --json`` document, or its summary line."""
    from imuhip.sinks.analysis_text import analysis_document

    st = pipe.state
    if as_json:
        _print(json.dumps(analysis_document(session, pipe.analysis())), out)
    elif st.status == "ready":
        _print("result: " + summary_line(pipe.summary()), out)
    else:
        _print(f"not calibrated: {st.message or 'no calibration protocol found'}", out)


def _speed(speed: str) -> float | None:
    if speed in ("max", "inf"):
        return None
    try:
        v = float(speed)
    except ValueError:
        raise ImuhipError(f"--speed must be a number or 'max', got {speed!r}") from None
    if v <= 0:
        raise ImuhipError("--speed must be positive")
    return v
