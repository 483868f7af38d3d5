"""Sessions fixtures: an API app on SQLite and PostgreSQL with two tenants (tests/api/conftest),
a published two-question flow and a dev number per tenant."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)

FLOW = (Path(__file__).parent / "two_questions.yaml").read_text()
