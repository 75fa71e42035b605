"""What the BLE layer needs to know about a sensor family, as plain data and pure functions.

Each vendor module in :mod:`imuhip.decode` pairs its :class:`~imuhip.decode.base.Decoder` with one
:class:`SensorProfile`: how to recognise the sensor in advertisements, which characteristics to
subscribe to, and which bytes to write to configure, start and stop streaming. No Bluetooth and
no async here: :mod:`imuhip.sources.ble` executes these steps with bleak.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Advertisement:
    """The parts of an advertisement used for recognition.

    Attributes:
        name: local name, or None when not advertised.
        service_uuids: advertised service UUIDs, lower-case 128-bit strings.
        manufacturer_data: company id -> payload bytes.
        address: BLE address (or platform id) of the device.
        rssi: received signal strength in dBm, or None.
    """

    name: str | None
    service_uuids: tuple[str, ...] = ()
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    address: str = ""
    rssi: int | None = None


@dataclass(frozen=True)
class GattWrite:
    """One write of a start/stop sequence.

    Attributes:
        char_uuid: characteristic to write.
        data: bytes to write.
        response: write with response (True) or without (False).
        delay_s: pause after the write before the next step, seconds.
    """

    char_uuid: str
    data: bytes
    response: bool = True
    delay_s: float = 0.0


@dataclass(frozen=True)
class ReadbackAnswer:
    """What a sensor answered to a configuration read-back.

    Attributes:
        applied: the configuration asked for is in effect.
        detail: what was read, in words (for messages and the ``config_applied`` event).
    """

    applied: bool
    detail: str


@dataclass(frozen=True)
class ConfigReadback:
    """How to learn that a sensor's configuration took effect, for sensors that stream before
    it does (WitMotion streams at its saved rate from the moment notifications are enabled).

    The BLE layer writes ``request`` after the start sequence and waits for a notification on
    ``channel`` for which ``answer`` returns an answer; notifications on the profile's channels
    before it are left out of the recording and counted (they were sent under the old
    configuration, and a sensor without timestamps gives no way to time them).

    Attributes:
        request: the write that asks the sensor what is in effect.
        channel: notify channel (index into ``notify_uuids``) the answer arrives on.
        answer: ``bytes -> ReadbackAnswer | None``; None when the notification is not the
            answer (e.g. a data frame).
    """

    request: GattWrite
    channel: int
    answer: Callable[[bytes], ReadbackAnswer | None]


@dataclass(frozen=True)
class SensorProfile:
    """A sensor family as the BLE layer sees it.

    Attributes:
        name: registry name, equal to the decoder's ``profile`` (stored in session headers).
        vendor: human-readable family name.
        service_uuid: primary service carrying the data.
        notify_uuids: characteristics to subscribe to; channel ``i`` in a recording is
            ``notify_uuids[i]`` (same order as the decoder's).
        command_uuid: characteristic for commands, or None.
        response_uuid: characteristic on which the sensor answers commands (to subscribe to
            before writing), or None.
        rates_hz: output rates the sensor supports.
        recognise: ``Advertisement -> bool``.
        start: ``(rate_hz, options) -> [GattWrite]`` configuring and starting the stream at a
            rate from ``rates_hz``.
        stop: ``() -> [GattWrite]``.
        decoder_config: ``(rate_hz, options) -> dict`` the configuration the decoder needs
            (stored in the session header so replay decodes identically).
        check_response: ``bytes -> str | None``: an error message if a command response
            reports a failure, else None. None when the profile has no responses.
        readback: ``(rate_hz, options) -> ConfigReadback``: how to confirm the configuration
            took effect before recording data (None: the start sequence's responses, or the
            sensor's own timestamps, are enough).
        configure_first: write the start sequence before enabling notifications, for sensors
            that stream from the moment notifications are on and take a configuration when it
            is written (no notification is then ever sent under the old settings). Only for
            profiles without command responses (``response_uuid`` None).
    """

    name: str
    vendor: str
    service_uuid: str
    notify_uuids: tuple[str, ...]
    command_uuid: str | None
    rates_hz: tuple[float, ...]
    recognise: Callable[[Advertisement], bool]
    start: Callable[[float, Mapping[str, Any]], Sequence[GattWrite]]
    stop: Callable[[], Sequence[GattWrite]]
    decoder_config: Callable[[float, Mapping[str, Any]], dict[str, Any]]
    response_uuid: str | None = None
    check_response: Callable[[bytes], str | None] | None = None
    readback: Callable[[float, Mapping[str, Any]], ConfigReadback] | None = None
    configure_first: bool = False

    def nearest_rate(self, rate_hz: float) -> float:
        """The supported rate closest to ``rate_hz``."""
        return nearest_rate(self.rates_hz, rate_hz)


def nearest_rate(rates: Iterable[float], rate_hz: float) -> float:
    """The rate of ``rates`` (Hz) closest to ``rate_hz``; the first of them on a tie."""
    return min(rates, key=lambda r: abs(r - float(rate_hz)))


_PROFILES: dict[str, SensorProfile] = {}


def register_profile(profile: SensorProfile) -> SensorProfile:
    """Make ``profile`` available to :func:`get_profile` and :func:`recognise`."""
    _PROFILES[profile.name] = profile
    return profile


def sensor_profiles() -> list[SensorProfile]:
    """All registered profiles, by name."""
    from imuhip.decode import _load_builtin

    _load_builtin()
    return [_PROFILES[k] for k in sorted(_PROFILES)]


def get_profile(name: str) -> SensorProfile:
    """The profile called ``name``; raises UnknownProfileError if there is none."""
    from imuhip.errors import UnknownProfileError

    names = {p.name: p for p in sensor_profiles()}
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise UnknownProfileError(f"unknown sensor profile {name!r}; known profiles: {known}")
    return names[name]


def recognise(adv: Advertisement) -> SensorProfile | None:
    """The first profile that recognises ``adv``, or None."""
    for p in sensor_profiles():
        if p.recognise(adv):
            return p
    return None
