"""Engagement: what contacts do with what the platform sends them, stored as
``engagement_events`` rows (voiceplatform.models.engagement) for the reports and, later, for
choosing a contact's channel.

- ``clicks``: a click-tracked link followed (``/l/<token>``): who it belongs to, where it
  redirects, the click recorded;
- ``privacy``: what is kept of the client (its network, a cut user agent);
- ``report``: a campaign's clicks, unique clickers and click-through rate, and the per-recipient
  export.

The links themselves are made by the engine's ``track_link`` (voiceplatform.flow.short_links).
docs/engagement.md."""
