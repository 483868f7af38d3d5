"""Recording review: the pipeline that transcribes recordings and computes their waveform peaks
after each call, the query behind the supervisors' recordings list, and audio retention.

- ``transcription``: free-text transcription with timestamps (vosk or pocketsphinx);
- ``peaks``: waveform peaks for display;
- ``analysis``: both, in this process or in a child process;
- ``pipeline``: ``process_recording`` / ``process_due`` (status, retries, one worker per recording);
- ``jobs``: the rq jobs;
- ``search``: ``find_recordings`` / ``iter_recordings``;
- ``retention``: ``apply_retention``.

Importing this package imports no engine, model or database driver beyond the models.
"""

from voiceplatform.review.pipeline import MAX_ATTEMPTS, process_due, process_recording
from voiceplatform.review.retention import RETENTION_DELETE, apply_retention
from voiceplatform.review.search import (
    SORTS, RecordingFilters, RecordingPage, RecordingRow, find_recordings, iter_recordings,
)

__all__ = [
    "MAX_ATTEMPTS", "RETENTION_DELETE", "SORTS", "RecordingFilters", "RecordingPage", "RecordingRow", "apply_retention",
    "find_recordings", "iter_recordings", "process_due", "process_recording",
]
