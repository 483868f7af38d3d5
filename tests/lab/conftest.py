from voiceplatform.testing.lab_fixture import asterisk_lab  # noqa: F401  (a fixture)
