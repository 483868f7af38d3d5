"""Write what a scripted SIP callee says as an RTP pcap that sipp plays (``play_pcap_audio``).

sipp cannot react to audio: a callee's whole side of the call is one timeline, laid out in
advance from known lengths (the platform's prompts come from the TTS cache, so their lengths
are known). A timeline is a list of parts:

- :class:`Speech`: 8 kHz mono 16-bit samples (a TTS WAV, e.g. "Hello?");
- :class:`Silence`: silent audio frames (a real phone sends frames all the time, and silence
  detection on the far side counts them), optionally with a line-noise floor (``level``): a
  real line is never all zeros, and pocketsphinx recognises nothing in a recording whose quiet
  parts are exact digital silence (its cepstral mean normalisation has no floor to work from);
- :class:`Rfc4733`: a DTMF key as RFC 4733 telephone-event packets (payload type 101);
- :class:`Tone`: a DTMF key as in-band dual tones, in the audio itself.

Everything goes in ONE RTP stream (one SSRC, one sequence and one clock), as a phone sends it:
audio packets every 20 ms, and during a telephone-event the event's packets instead. Audio is
μ-law (PCMU, payload type 0) or A-law (PCMA, 8).
"""

from __future__ import annotations

import array
import audioop
import math
import random
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Union

RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000  # 160
PCMU, PCMA, TELEPHONE_EVENT = 0, 8, 101
SSRC = 0x5EED0001
EVENT_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
DTMF_FREQUENCIES = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
    "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "*": (941, 1209),
    "0": (941, 1336), "#": (941, 1477),
}


@dataclass(frozen=True)
class Speech:
    pcm: bytes  # 8 kHz mono signed 16-bit little-endian

    @classmethod
    def from_wav(cls, path: Path) -> Speech:
        with wave.open(str(path)) as audio:
            if (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) != (RATE, 1, 2):
                raise ValueError(f"{path}: not 8 kHz mono 16-bit")
            return cls(audio.readframes(audio.getnframes()))

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


@dataclass(frozen=True)
class Silence:
    seconds: float
    level: int = 0  # RMS of a Gaussian noise floor (16-bit units); 0 = digital silence


NOISE_SEED = 11  # the noise is the same in every pcap: a test run is repeatable


def noise_pcm(samples: int, level: int) -> bytes:
    """``samples`` of a Gaussian noise floor of RMS ``level``: one second of it, repeated."""
    if level <= 0:
        return b"\0" * (samples * 2)
    rnd = random.Random(NOISE_SEED)
    second = array.array("h", (max(-32768, min(32767, int(rnd.gauss(0, level)))) for _ in range(RATE)))
    block = second.tobytes()
    whole, rest = divmod(samples, RATE)
    return block * whole + block[:rest * 2]


@dataclass(frozen=True)
class Rfc4733:
    key: str
    seconds: float = 0.2


@dataclass(frozen=True)
class Tone:
    key: str
    seconds: float = 0.2
    amplitude: int = 7000  # per tone; the sum stays well inside 16 bits


Part = Union[Speech, Silence, Rfc4733, Tone]


def tone_pcm(key: str, seconds: float, amplitude: int = 7000) -> bytes:
    low, high = DTMF_FREQUENCIES[key]
    count = int(seconds * RATE)
    samples = (int(amplitude * (math.sin(2 * math.pi * low * n / RATE) + math.sin(2 * math.pi * high * n / RATE)))
               for n in range(count))
    return b"".join(struct.pack("<h", s) for s in samples)


def duration(parts: list[Part]) -> float:
    """Seconds of the timeline (what a pcap of it lasts)."""
    total = 0.0
    for part in parts:
        total += part.seconds
    return total


class _Stream:
    """One RTP stream: sequence, timestamp, SSRC, and the packets with their send times."""

    def __init__(self, payload_type: int) -> None:
        self.payload_type = payload_type
        self.sequence = 1
        self.timestamp = 0  # in samples
        self.packets: list[tuple[float, bytes]] = []

    def _send(self, payload_type: int, timestamp: int, payload: bytes, marker: bool, at: float) -> None:
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, self.sequence & 0xFFFF,
                             timestamp & 0xFFFFFFFF, SSRC)
        self.sequence += 1
        self.packets.append((at, header + payload))

    @property
    def now(self) -> float:
        return self.timestamp / RATE

    def audio(self, pcm: bytes) -> None:
        frame_bytes = FRAME_SAMPLES * 2
        if len(pcm) % frame_bytes:
            pcm += b"\0" * (frame_bytes - len(pcm) % frame_bytes)
        encode = audioop.lin2ulaw if self.payload_type == PCMU else audioop.lin2alaw
        for offset in range(0, len(pcm), frame_bytes):
            self._send(self.payload_type, self.timestamp, encode(pcm[offset:offset + frame_bytes], 2),
                       not self.packets, self.now)
            self.timestamp += FRAME_SAMPLES

    def event(self, key: str, seconds: float) -> None:
        """RFC 4733: one event, its start timestamp on every packet, a growing duration, and
        the end packet sent three times."""
        code = EVENT_CODES[key]
        start = self.timestamp
        frames = max(1, round(seconds * 1000 / FRAME_MS))
        volume = 10
        for index in range(1, frames + 1):
            length = index * FRAME_SAMPLES
            end = index == frames
            payload = struct.pack("!BBH", code, (0x80 if end else 0) | volume, length)
            at = (start + length - FRAME_SAMPLES) / RATE
            for _ in range(3 if end else 1):
                self._send(TELEPHONE_EVENT, start, payload, index == 1, at)
        self.timestamp = start + frames * FRAME_SAMPLES


def packets(parts: list[Part], payload_type: int = PCMU) -> list[tuple[float, bytes]]:
    """The RTP packets (send time in seconds, bytes) of ``parts``."""
    stream = _Stream(payload_type)
    for part in parts:
        if isinstance(part, Speech):
            stream.audio(part.pcm)
        elif isinstance(part, Silence):
            stream.audio(noise_pcm(int(part.seconds * RATE), part.level))
        elif isinstance(part, Tone):
            stream.audio(tone_pcm(part.key, part.seconds, part.amplitude))
        else:
            stream.event(part.key, part.seconds)
    return stream.packets


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(rtp: bytes, source_port: int = 6000, dest_port: int = 6002) -> bytes:
    udp = struct.pack("!HHHH", source_port, dest_port, 8 + len(rtp), 0) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
    ethernet = b"\0" * 12 + b"\x08\x00"
    return ethernet + ip + udp


def write_pcap(path: Path, parts: list[Part], payload_type: int = PCMU) -> Path:
    """Write ``parts`` as a libpcap file (Ethernet, IPv4, UDP, RTP) that sipp can play."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for at, rtp in packets(parts, payload_type):
        frame = _frame(rtp)
        seconds = int(at)
        out.append(struct.pack("<IIII", seconds, int(round((at - seconds) * 1_000_000)), len(frame), len(frame)))
        out.append(frame)
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(b"".join(out))
    temp.replace(path)
    return path


def read_pcap_rtp(path: Path) -> list[bytes]:
    """The RTP packets (headers included) of a pcap written by :func:`write_pcap`: for tests."""
    data = path.read_bytes()
    offset, found = 24, []
    while offset + 16 <= len(data):
        _s, _u, length, _o = struct.unpack("<IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + length]
        found.append(frame[14 + 20 + 8:])
        offset += 16 + length
    return found
