"""Channels: the one contract every channel implements (``contract``), the registry that finds a
channel's driver (``registry``), and the designers' test channel (``dev``). The bridges
(``sms_bridge``, ``whatsapp_bridge``) implement the same contract; nothing here imports them."""
