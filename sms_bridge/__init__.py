"""The SMS bridge: turns engine outputs into SMS and replies into engine inputs, storing the
session state between messages. Not built yet: the flow engine it plugs into is ready
(``voiceplatform.flow``), and a later issue builds the SMPP / HTTP side."""
