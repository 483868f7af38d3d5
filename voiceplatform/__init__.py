"""voiceplatform: customer journeys over voice, SMS and WhatsApp from one flow definition."""

__version__ = "0.1.0"
