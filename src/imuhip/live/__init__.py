"""Live use: the streaming pipeline, guided calibration, and the recorder/replay loops behind
``imuhip record``, ``live``, ``demo`` and ``replay``."""
