"""Live BLE sources: bleak at the edge, optionally over bumble (virtual radio or any HCI transport).

- :mod:`.bumble_backend`: a bleak backend over bumble and :func:`ble_backend` (spec strings).
- :mod:`.virtual_sensor`: virtual sensors on the in-process virtual radio.
- :mod:`.connection`: the reconnecting connection manager and the recorder.
- :mod:`.scan`: scanning with profile recognition.
- :mod:`.edge`: :class:`~.edge.LinkThread`, all of the above on an event loop in a thread of
  its own, behind a synchronous interface (what ``imuhip.live`` uses).

Async code lives only in this package.
"""
