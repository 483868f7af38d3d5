"""Speech for calls: text to speech (pyttsx3 on espeak-ng, cached) and speech to text (vosk, or
the bundled English pocketsphinx model), both constrained and telephony-shaped (8 kHz mono)."""
