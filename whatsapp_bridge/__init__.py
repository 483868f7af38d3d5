"""The WhatsApp bridge: turns engine outputs into Cloud API messages (text, buttons, lists,
templates) and webhooks into engine inputs. Not built yet: a later issue builds it on the flow
engine (``voiceplatform.flow``), which already renders WhatsApp buttons and lists."""
