"""Survey results of a campaign on any channel: a survey is a flow with ``gather`` nodes (over
SMS, WhatsApp or a call), and its answers are the sessions' stored results.

- ``answers``: the answers read out of the stored states in SQL (SQLite's ``json_each``,
  PostgreSQL's ``jsonb_each``);
- ``results``: the aggregate per question (counts per choice with labels; count, average, min,
  max and distribution of numeric answers such as a rating);
- ``export``: every answer as CSV (UTF-8 with a byte-order mark).

docs/surveys.md."""
