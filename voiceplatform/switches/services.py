"""The voice services a worker builds once: TTS cache, recogniser, recording layout."""

from __future__ import annotations

from pathlib import Path

from voiceplatform.speech.stt import default_recognizer, recognizer_for
from voiceplatform.speech.tts import TextToSpeech, gevent_offload
from voiceplatform.switches.recordings import RecordingLayout
from voiceplatform.switches.voice_runner import VoiceServices


def default_services(media_dir: str | Path) -> VoiceServices:
    media = Path(media_dir).resolve()
    return VoiceServices(
        tts=TextToSpeech(media / "tts-cache", offload=gevent_offload()),
        stt=default_recognizer(),
        stt_for=recognizer_for,
        recordings=RecordingLayout(media),
        audio_root=media,
    )
