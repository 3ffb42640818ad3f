"""Event markers for recordings running beside the task (EEG, eye tracker, physiology).

Why: a lab recording other signals needs each stimulus and response marked on that recording's
clock. The task sends a named event (``cue``, ``tree``, ``feedback``, ``response``, ``trigger``) to
one pluggable output, chosen in the protocol's ``[markers]`` table (``config.MarkerSettings``):

* ``none``: nothing is sent (the default);
* ``lsl``: a Lab Streaming Layer string stream (``pylsl``; type ``Markers``, name ``stream_name``),
  each sample stamped with the event's time on the LSL clock;
* ``serial``: one byte per event (``codes``) written to a serial port (``pyserial``), e.g. a USB
  trigger box that sets the parallel-port lines of an EEG amplifier.

Stimulus markers are sent from the flip that shows the stimulus (PsychoPy ``callOnFlip``),
response markers as soon as the key press is read (at most a frame later), stamped with the
key-down time on the LSL clock.
"""

from __future__ import annotations

from typing import Any
from typing import Protocol as TypingProtocol

from garden.core.errors import UserError
from garden.experiment.config import MarkerSettings


class MarkerOutput(TypingProtocol):
    """Where markers go."""

    def send(self, event: str, ago_s: float = 0.0) -> None:
        """Mark ``event`` (one of ``EVENTS``) that happened ``ago_s`` seconds ago."""

    def close(self) -> None:
        """Release the device."""


class NoMarkers:
    """Sends nothing."""

    def send(self, event: str, ago_s: float = 0.0) -> None:
        """Ignore the event."""

    def close(self) -> None:
        """Nothing to release."""


class LslMarkers:
    """A Lab Streaming Layer outlet of string markers (one channel, irregular rate)."""

    def __init__(self, settings: MarkerSettings, source_id: str):
        try:
            import pylsl  # deferred: optional (hardware library, only when a protocol asks for LSL markers)
        except ImportError:
            raise UserError("[markers] output = 'lsl' needs pylsl: pip install 'garden-task[lab]'") from None
        self._pylsl = pylsl
        info = pylsl.StreamInfo(settings.stream_name, "Markers", 1, pylsl.IRREGULAR_RATE, "string", source_id)
        self.outlet = pylsl.StreamOutlet(info)

    def send(self, event: str, ago_s: float = 0.0) -> None:
        """Push ``event`` stamped ``ago_s`` before now on the LSL clock."""
        self.outlet.push_sample([event], self._pylsl.local_clock() - ago_s)

    def close(self) -> None:
        """Drop the outlet (inlets see the stream end)."""
        del self.outlet


class SerialMarkers:
    """One byte per event (its code) on a serial port."""

    def __init__(self, settings: MarkerSettings):
        try:
            import serial  # deferred: optional (pyserial, only when a protocol asks for serial markers)
        except ImportError:
            raise UserError("[markers] output = 'serial' needs pyserial: pip install 'garden-task[lab]'") from None
        if not settings.serial_port:
            raise UserError("[markers] output = 'serial' needs serial_port, e.g. serial_port = \"/dev/ttyUSB0\"")
        try:
            self.port = serial.serial_for_url(settings.serial_port, baudrate=settings.baud_rate, timeout=0)
        except serial.SerialException as exc:
            raise UserError(f"[markers] serial_port {settings.serial_port!r}: cannot open it ({exc}); "
                            "check the device name and permissions") from None
        self.codes = settings.codes

    def send(self, event: str, ago_s: float = 0.0) -> None:
        """Write the event's code byte (the port has no clock: ``ago_s`` is not sent)."""
        self.port.write(bytes([self.codes[event]]))

    def close(self) -> None:
        """Close the port."""
        self.port.close()


def open_markers(settings: MarkerSettings, *, source_id: str) -> Any:
    """The marker output a protocol asks for (``source_id`` names an LSL stream, e.g. the session)."""
    if settings.output == "lsl":
        return LslMarkers(settings, source_id)
    if settings.output == "serial":
        return SerialMarkers(settings)
    return NoMarkers()
