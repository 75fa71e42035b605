"""Sound cues for guided training: the coach's prompts spoken or as tones, on a worker thread.

:class:`SoundSink` takes prompts (:class:`imuhip.training.coach.Prompt`) from the caller
without ever blocking it and plays them one after another on its own thread through a back
end: speech (``pyttsx3``, over espeak-ng / SAPI / NSSpeechSynthesizer), tones synthesised here
with numpy, distinct per prompt kind, played through ``sounddevice`` or ``simpleaudio``
(:class:`ToneBackend`), or nothing (:class:`NullBackend`). The audio libraries are the optional
extra ``imuhip[sound]``. Without a speech engine or an audio device the sink says so once
(``notice``) and goes on silently; a device that fails later is treated the same way.

When the sound falls behind (a long spoken result while the countdown comes due), the queue
keeps at most ``max_queue`` prompts: a new prompt evicts the oldest prompt of lower priority,
or is dropped (counted) if none is lower.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from imuhip.errors import SoundUnavailableError
from imuhip.training.coach import Prompt, PromptKind

#: Sample rate of the synthesised tones, Hz.
TONE_RATE_HZ = 22050
#: Peak amplitude of the tones (full scale 1).
TONE_AMPLITUDE = 0.4
_FADE_S = 0.005  # raised-cosine fade in and out of each beep (no clicks)
_GAP_S = 0.04  # silence between the beeps of one cue


class SoundMode(StrEnum):
    """``--sound``: how prompts are heard."""

    SPEECH = "speech"
    TONES = "tones"
    NONE = "none"


#: Each kind's tone: beeps of (frequency Hz, seconds); a glide when the two frequencies differ.
TONE_PATTERNS: dict[PromptKind, tuple[tuple[float, float, float], ...]] = {
    PromptKind.WAIT: ((440.0, 440.0, 0.15),),
    PromptKind.NEXT: ((523.0, 523.0, 0.12), (659.0, 659.0, 0.12)),
    PromptKind.SET_START: ((660.0, 990.0, 0.35),),
    PromptKind.REMINDER: ((660.0, 990.0, 0.2), (660.0, 990.0, 0.2)),
    PromptKind.COUNTDOWN: ((880.0, 880.0, 0.09),),
    PromptKind.RELAX: ((880.0, 440.0, 0.6),),
    PromptKind.REP: ((1175.0, 1175.0, 0.07),),
    PromptKind.SHORT_OF_RANGE: ((300.0, 300.0, 0.12), (300.0, 300.0, 0.12)),
    PromptKind.COMPENSATION: ((350.0, 250.0, 0.3),),
    PromptKind.RESULT: ((587.0, 587.0, 0.1), (784.0, 784.0, 0.1)),
    PromptKind.REST: ((392.0, 392.0, 0.4),),
    PromptKind.SUMMARY: ((523.0, 523.0, 0.08),),
    PromptKind.DONE: ((523.0, 523.0, 0.12), (659.0, 659.0, 0.12), (784.0, 784.0, 0.3)),
}


def tone(kind: PromptKind, rate_hz: int = TONE_RATE_HZ) -> np.ndarray:
    """The cue of ``kind`` as float32 samples in [-1, 1] at ``rate_hz`` (mono)."""
    parts: list[np.ndarray] = []
    gap = np.zeros(round(_GAP_S * rate_hz), np.float32)
    for k, (f0, f1, dur) in enumerate(TONE_PATTERNS[kind]):
        n = round(dur * rate_hz)
        freq = np.linspace(f0, f1, n)
        phase = 2 * np.pi * np.cumsum(freq) / rate_hz
        env = np.ones(n)
        m = min(n // 2, round(_FADE_S * rate_hz))
        if m:
            ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(m) / m)
            env[:m], env[n - m :] = ramp, ramp[::-1]
        parts += ([gap] if k else []) + [(TONE_AMPLITUDE * env * np.sin(phase)).astype(np.float32)]
    return np.concatenate(parts)


class Backend(Protocol):
    """Plays one prompt; may block (it runs on the sink's worker); raises on a failure."""

    name: str

    def play(self, prompt: Prompt) -> None: ...


class AudioDevice(Protocol):
    """Plays mono float32 samples, returning when they are played."""

    def play(self, samples: np.ndarray, rate_hz: int) -> None: ...


class NullBackend:
    """Plays nothing (tests, ``--sound none``, no audio device)."""

    name = "none"

    def play(self, prompt: Prompt) -> None:
        return None


class ToneBackend:
    """Each prompt as its kind's tone (:func:`tone`) on ``device``."""

    name = "tones"

    def __init__(self, device: AudioDevice, rate_hz: int = TONE_RATE_HZ) -> None:
        self.device = device
        self.rate_hz = rate_hz
        self._cache: dict[PromptKind, np.ndarray] = {}

    def play(self, prompt: Prompt) -> None:
        x = self._cache.get(prompt.kind)
        if x is None:
            x = self._cache[prompt.kind] = tone(prompt.kind, self.rate_hz)
        self.device.play(x, self.rate_hz)


class SpeechBackend:
    """Each prompt's text spoken by ``engine`` (a pyttsx3 engine: ``say``, ``runAndWait``)."""

    name = "speech"

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def play(self, prompt: Prompt) -> None:
        self.engine.say(prompt.text)
        self.engine.runAndWait()


class _SoundDeviceOutput:
    def __init__(self) -> None:
        import sounddevice  # optional extra imuhip[sound]

        sounddevice.query_devices(kind="output")  # raises without an output device
        self.sd = sounddevice

    def play(self, samples: np.ndarray, rate_hz: int) -> None:
        self.sd.play(samples, rate_hz, blocking=True)


class _SimpleAudioOutput:
    def __init__(self) -> None:
        import simpleaudio  # optional extra imuhip[sound]

        self.sa = simpleaudio

    def play(self, samples: np.ndarray, rate_hz: int) -> None:
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        self.sa.play_buffer(pcm, 1, 2, rate_hz).wait_done()


def audio_device() -> AudioDevice:
    """The system's audio output through ``sounddevice``, else ``simpleaudio``.

    Raises:
        SoundUnavailableError: neither is installed or neither finds an output device.
    """
    reasons = []
    for make, lib in ((_SoundDeviceOutput, "sounddevice"), (_SimpleAudioOutput, "simpleaudio")):
        try:
            return make()
        except ImportError:
            reasons.append(f"{lib} is not installed")
        except Exception as exc:  # the library's own errors: no device, no PortAudio
            reasons.append(f"{lib}: {exc}")
    raise SoundUnavailableError("no audio output (" + "; ".join(reasons) + "; pip install "
                           "'imuhip[sound]')")  # fmt: skip


def speech_engine() -> Any:
    """A pyttsx3 engine.

    Raises:
        SoundUnavailableError: pyttsx3 is not installed or finds no speech engine.
    """
    try:
        import pyttsx3  # optional extra imuhip[sound]
    except ImportError:
        raise SoundUnavailableError("no speech: pyttsx3 is not installed (pip install "
                               "'imuhip[sound]')") from None  # fmt: skip
    try:
        return pyttsx3.init()
    except Exception as exc:  # no espeak-ng / SAPI / NSSpeechSynthesizer
        raise SoundUnavailableError(f"no speech engine: {exc}") from None


@dataclass(frozen=True)
class SoundStats:
    """What the sink did: prompts played, dropped (the sound was behind), failed."""

    played: int
    dropped: int
    failed: int


class SoundSink:
    """Plays prompts on a worker thread (see the module docstring). :meth:`say` never
    blocks; :meth:`close` waits at most ``timeout_s`` for the queue to empty."""

    def __init__(
        self,
        backend: Backend,
        *,
        notice: Callable[[str], None] | None = None,
        max_queue: int = 6,
    ) -> None:
        self.backend = backend
        self.notice = notice or (lambda _text: None)
        self.max_queue = max(1, max_queue)
        self._queue: deque[Prompt] = deque()
        self._cv = threading.Condition()
        self._closing = False
        self._played = self._dropped = self._failed = 0
        self._thread = threading.Thread(target=self._work, name="imuhip-sound", daemon=True)
        self._thread.start()

    @property
    def stats(self) -> SoundStats:
        with self._cv:
            return SoundStats(self._played, self._dropped, self._failed)

    def say(self, prompt: Prompt) -> None:
        """Queue ``prompt`` and return at once."""
        with self._cv:
            if self._closing:
                return
            if len(self._queue) >= self.max_queue:
                lower = [p for p in self._queue if p.priority < prompt.priority]
                if not lower:
                    self._dropped += 1
                    return
                victim = min(lower, key=lambda p: p.priority)  # the oldest of the lowest
                self._queue.remove(victim)
                self._dropped += 1
            self._queue.append(prompt)
            self._cv.notify()

    def close(self, timeout_s: float = 5.0) -> None:
        """Play what is queued (for at most ``timeout_s``), then stop the worker."""
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._thread.join(timeout_s)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closing:
                    self._cv.wait()
                if not self._queue:
                    return
                prompt = self._queue.popleft()
            try:
                self.backend.play(prompt)
            except Exception as exc:  # a device that went away: say so once, go on silently
                with self._cv:
                    self._failed += 1
                self.notice(f"sound stopped ({self.backend.name}: {exc}); going on silently")
                self.backend = NullBackend()
                continue
            with self._cv:
                self._played += 1


def make_sound(
    mode: SoundMode | str,
    *,
    notice: Callable[[str], None] | None = None,
    device: Callable[[], AudioDevice] = audio_device,
    engine: Callable[[], Any] = speech_engine,
) -> SoundSink:
    """The sink for ``--sound MODE``. Speech without an engine falls back to tones; without
    an audio device ``notice`` is told once and the sink is silent. ``device`` and ``engine``
    build the system's output (tests pass fakes)."""
    say = notice or (lambda _text: None)
    mode = SoundMode(mode)
    backend: Backend = NullBackend()
    if mode is SoundMode.SPEECH:
        try:
            backend = SpeechBackend(engine())
        except SoundUnavailableError as exc:
            say(f"{exc}: using tones instead")
            mode = SoundMode.TONES
    if mode is SoundMode.TONES:
        try:
            backend = ToneBackend(device())
        except SoundUnavailableError as exc:
            say(f"{exc}: going on silently (the prompts are still shown)")
    return SoundSink(backend, notice=say)
