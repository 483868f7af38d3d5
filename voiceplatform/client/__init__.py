"""Clients of the platform's HTTP API: ``http.ApiClient``, which the command line (``voiceplatform
campaign ...``) and the demo use. It speaks only HTTP: nothing here imports the server side."""
