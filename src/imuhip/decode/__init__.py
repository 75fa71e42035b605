"""Vendor decoders: notification bytes -> channel samples in SI units.

Use :func:`get_decoder` with the profile name stored in a session header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imuhip.decode.base import Decoder, DecodeStats
from imuhip.errors import UnknownProfileError

_REGISTRY: dict[str, type[Decoder]] = {}


def register(cls: type[Decoder]) -> type[Decoder]:
    """Class decorator: make a decoder available under ``cls.profile``."""
    _REGISTRY[cls.profile] = cls
    return cls


def profiles() -> list[str]:
    """Names of all registered profiles."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_decoder(profile: str, config: Mapping[str, Any] | None = None) -> Decoder:
    """A fresh decoder for ``profile`` (raises :class:`UnknownProfileError` if unknown)."""
    _load_builtin()
    try:
        cls = _REGISTRY[profile]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownProfileError(
            f"no decoder for sensor profile {profile!r}; known profiles: {known}"
        ) from None
    return cls(config)


def _load_builtin() -> None:
    """Import the vendor modules so their ``@register`` decorators run (once)."""
    import importlib
    import pkgutil

    import imuhip.decode as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in ("base", "profile"):
            importlib.import_module(f"imuhip.decode.{info.name}")


__all__ = ["DecodeStats", "Decoder", "get_decoder", "profiles", "register"]
