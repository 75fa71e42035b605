"""Sound cues: tones per kind, the worker that never blocks, fallbacks without a device."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from imuhip.errors import SoundUnavailableError
from imuhip.sinks.sound import (
    TONE_RATE_HZ,
    NullBackend,
    SoundMode,
    SoundSink,
    SpeechBackend,
    ToneBackend,
    make_sound,
    tone,
)
from imuhip.training.coach import Priority, Prompt, PromptKind


class FakeDevice:
    """Records what it was asked to play; blocks while ``gate`` is clear."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.played: list[np.ndarray] = []
        self.gate = gate

    def play(self, samples, rate_hz):
        assert rate_hz == TONE_RATE_HZ
        if self.gate is not None:
            assert self.gate.wait(10.0)
        self.played.append(samples)


class FakeEngine:
    def __init__(self) -> None:
        self.said: list[str] = []
        self.pending: list[str] = []

    def say(self, text):
        self.pending.append(text)

    def runAndWait(self):  # noqa: N802 (pyttsx3's name)
        self.said += self.pending
        self.pending = []


def p(kind, text="x", prio=Priority.NORMAL, t=0.0):
    return Prompt(t, text, kind, prio)


def test_every_kind_has_its_own_tone():
    tones = {k: tone(k) for k in PromptKind}
    for k, x in tones.items():
        assert x.dtype == np.float32 and 0.05 * TONE_RATE_HZ < len(x) < 2 * TONE_RATE_HZ, k
        assert np.max(np.abs(x)) <= 0.41 and abs(x[0]) < 1e-3 and abs(x[-1]) < 0.05, k
    keys = list(tones)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            same = len(tones[a]) == len(tones[b]) and np.allclose(tones[a], tones[b])
            assert not same, (a, b)


def test_tone_backend_plays_each_prompt_on_the_device_in_order():
    dev = FakeDevice()
    sink = SoundSink(ToneBackend(dev))
    kinds = [PromptKind.SET_START, PromptKind.COUNTDOWN, PromptKind.RELAX]
    for k in kinds:
        sink.say(p(k))
    sink.close()
    assert len(dev.played) == 3
    for got, k in zip(dev.played, kinds, strict=True):
        np.testing.assert_array_equal(got, tone(k))
    assert sink.stats.played == 3 and sink.stats.dropped == 0


def test_say_never_blocks_and_a_full_queue_drops_the_least_important():
    gate = threading.Event()
    dev = FakeDevice(gate)
    sink = SoundSink(ToneBackend(dev), max_queue=2)
    # the device is stuck on the first prompt; say() must still return at once
    sink.say(p(PromptKind.SET_START, "push", Priority.URGENT))
    for text in ("a", "b", "c"):  # info prompts pile up while the device is busy
        sink.say(p(PromptKind.RESULT, text, Priority.INFO))
    sink.say(p(PromptKind.COUNTDOWN, "3", Priority.URGENT))  # evicts the oldest info prompt
    gate.set()
    sink.close()
    assert sink.stats.dropped >= 2
    # the urgent countdown was played, last
    np.testing.assert_array_equal(dev.played[-1], tone(PromptKind.COUNTDOWN))
    assert sink.stats.played == len(dev.played)


def test_speech_backend_speaks_the_text():
    eng = FakeEngine()
    sink = SoundSink(SpeechBackend(eng))
    sink.say(p(PromptKind.REST, "rest 60 seconds"))
    sink.say(p(PromptKind.DONE, "done"))
    sink.close()
    assert eng.said == ["rest 60 seconds", "done"]


def test_no_device_says_so_once_and_goes_on_silently():
    notes: list[str] = []

    def no_device():
        raise SoundUnavailableError("no audio output (sounddevice is not installed)")

    sink = make_sound("tones", notice=notes.append, device=no_device)
    assert isinstance(sink.backend, NullBackend)
    for _ in range(5):
        sink.say(p(PromptKind.REP))
    sink.close()
    assert len(notes) == 1 and "going on silently" in notes[0]


def test_speech_without_engine_falls_back_to_tones():
    notes: list[str] = []
    dev = FakeDevice()

    def no_engine():
        raise SoundUnavailableError("no speech: pyttsx3 is not installed")

    sink = make_sound(SoundMode.SPEECH, notice=notes.append, device=lambda: dev, engine=no_engine)
    sink.say(p(PromptKind.RELAX))
    sink.close()
    assert notes == ["no speech: pyttsx3 is not installed: using tones instead"]
    np.testing.assert_array_equal(dev.played[0], tone(PromptKind.RELAX))


def test_device_failing_later_is_noted_once_then_silent():
    notes: list[str] = []

    class Broken:
        def play(self, samples, rate_hz):
            raise OSError("device unplugged")

    sink = SoundSink(ToneBackend(Broken()), notice=notes.append)
    for _ in range(3):
        sink.say(p(PromptKind.REP))
    sink.close()
    assert len(notes) == 1 and "device unplugged" in notes[0]
    assert sink.stats.failed == 1


def test_none_mode_is_silent_without_notice():
    notes: list[str] = []
    sink = make_sound("none", notice=notes.append)
    sink.say(p(PromptKind.DONE))
    sink.close()
    assert notes == [] and isinstance(sink.backend, NullBackend) and sink.stats.played == 1


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        make_sound("loud")
