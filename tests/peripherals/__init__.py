"""Minimal BLE sensor peripherals for the fault tests, independent of imuhip's own virtual
sensors: each one is a small GATT server written from the vendor protocol notes
(``../shared/sensors/protocols.md``) with bumble's own APIs, run in a process of its own and
attached to a radio hub (:mod:`tests.peripherals.air`) over a TCP socket on 127.0.0.1."""
