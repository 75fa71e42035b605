"""The saved sensor pairing (``imuhip pair``): which sensor sits where, on which leg.

Stored as JSON in the user's config directory (``platformdirs``), or where ``IMUHIP_CONFIG``
points. Written atomically; a damaged file is reported, never silently replaced.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from platformdirs import user_config_dir

from imuhip.atomic import atomic_write
from imuhip.errors import ImuhipError, LayoutError
from imuhip.layout import BOTH, PELVIS, ROLES, SIDES, TRUNK, Layout, layout_of

CONFIG_ENV = "IMUHIP_CONFIG"


class ConfigError(ImuhipError):
    """The pairing configuration is missing or unreadable."""


@dataclass(frozen=True)
class PairedSensor:
    """A sensor assigned to a role: its BLE address, profile and advertised name."""

    address: str
    profile: str
    name: str = ""


@dataclass(frozen=True)
class Pairing:
    """Sensors by role (:data:`imuhip.layout.ROLES`: "thigh" and "shin" with the side "left"
    or "right", or sided roles "left_thigh"... with the side they give, "both" for two legs;
    optionally "pelvis", "trunk") and the instrumented side."""

    side: str
    sensors: dict[str, PairedSensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.side not in (*SIDES, BOTH):
            raise ConfigError(f"side must be 'left', 'right' or 'both', got {self.side!r}")
        unknown = set(self.sensors) - set(ROLES)
        if unknown:
            raise ConfigError(f"unknown sensor role(s): {', '.join(sorted(unknown))}")
        addresses = [s.address.upper() for s in self.sensors.values()]
        if len(set(addresses)) != len(addresses):
            raise ConfigError("one sensor cannot take two roles; pair a different sensor")

    @property
    def layout(self) -> Layout:
        """The legs these sensors instrument (:class:`LayoutError` saying to pair again when
        they form no valid layout, e.g. a thigh without a shin)."""
        try:
            return layout_of(list(self.sensors), self.side)
        except LayoutError as exc:
            raise LayoutError(
                f"the saved pairing ({', '.join(self.sensors) or 'no sensors'}, side "
                f"{self.side}) is not a usable set of sensors: {exc}; run 'imuhip pair' again"
            ) from None

    def for_side(self, side: str) -> Pairing:
        """The pairing for a one-leg session on ``side``: of a pairing of both legs, that
        leg's sensors under the plain ``thigh``/``shin`` roles (one-leg files keep them), with
        the pelvis and trunk; a one-leg pairing moved to ``side`` (the same sensors on the
        other leg)."""
        layout = self.layout
        if layout.side != BOTH:
            return Pairing(side, self.sensors)
        leg = layout.leg(side)
        plain = {leg.thigh: "thigh", leg.shin: "shin", PELVIS: PELVIS, TRUNK: TRUNK}
        return Pairing(side, {plain[r]: s for r, s in self.sensors.items() if r in plain})


def config_path() -> Path:
    """Where the pairing is saved."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return Path(user_config_dir("imuhip")) / "pairing.json"


def save_pairing(pairing: Pairing, path: Path | None = None) -> Path:
    """Write the pairing atomically; returns the file written."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "version": 1,
        "side": pairing.side,
        "sensors": {r: asdict(s) for r, s in pairing.sensors.items()},
    }
    with atomic_write(path) as f:
        f.write(json.dumps(doc, indent=2) + "\n")
    return path


def load_pairing(path: Path | None = None) -> Pairing:
    """Read the saved pairing; :class:`ConfigError` says what to do when there is none."""
    path = path or config_path()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"no sensors paired yet ({path} does not exist): run 'imuhip pair' first, or give "
            "--thigh ADDRESS --shin ADDRESS"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is unreadable ({exc}); run 'imuhip pair' again") from exc
    try:
        sensors = {r: PairedSensor(**s) for r, s in doc["sensors"].items()}
        return Pairing(doc["side"], sensors)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"{path} is not a valid pairing file ({exc}); run 'imuhip pair' again"
        ) from exc


# --------------------------------------------------------------------------- sensor calibration


def sensor_calibration_path() -> Path:
    """Where the sensors' own calibrations (gyro scales, ``imuhip sensor-cal``) are saved:
    beside the pairing."""
    return config_path().with_name("sensor-calibration.json")


def load_gyro_scales(path: Path | None = None) -> dict[str, list[float]]:
    """Saved per-axis gyro scales by sensor address (upper case); empty when none saved."""
    path = path or sensor_calibration_path()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} is unreadable ({exc}); delete it and run 'imuhip sensor-cal' again"
        ) from exc
    try:
        return {
            str(a).upper(): [float(v) for v in e["gyro_scale"]] for a, e in doc["sensors"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{path} is not a valid sensor calibration file ({exc}); delete it and run "
            "'imuhip sensor-cal' again"
        ) from exc


def save_gyro_scale(address: str, scale: list[float], path: Path | None = None) -> Path:
    """Save (or replace) one sensor's gyro scale, keeping the others; atomic."""
    if not address:
        raise ConfigError("the sensor has no address (an import?): its calibration cannot be saved")
    path = path or sensor_calibration_path()
    scales = load_gyro_scales(path)
    scales[address.upper()] = [float(v) for v in scale]
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"version": 1, "sensors": {a: {"gyro_scale": s} for a, s in sorted(scales.items())}}
    with atomic_write(path) as f:
        f.write(json.dumps(doc, indent=2) + "\n")
    return path
