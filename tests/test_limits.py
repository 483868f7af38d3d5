"""Resource limits: one dataclass, each field settable from the environment, bad values named."""

from __future__ import annotations

import dataclasses

import pytest

from voiceplatform.limits import ENV_PREFIX, ResourceLimits


def test_every_limit_has_a_positive_default() -> None:
    for item in dataclasses.fields(ResourceLimits):
        assert getattr(ResourceLimits(), item.name) > 0, item.name


def test_each_field_is_read_from_its_variable() -> None:
    limits = ResourceLimits.from_env({ENV_PREFIX + "MAX_REQUEST_BYTES": "2048", ENV_PREFIX + "MAX_TEMPLATE_SECONDS": "0.5",
                                      ENV_PREFIX + "MAX_YAML_ALIASES": "0"})
    assert limits.max_request_bytes == 2048 and isinstance(limits.max_request_bytes, int)
    assert limits.max_template_seconds == 0.5
    assert limits.max_yaml_aliases == 0  # 0 refuses every alias
    assert limits.max_flow_nodes == ResourceLimits().max_flow_nodes


@pytest.mark.parametrize("raw", ["lots", "-1", "0", "1.5"])
def test_a_bad_value_names_its_variable(raw: str) -> None:
    with pytest.raises(ValueError, match=ENV_PREFIX + "MAX_FLOW_NODES"):
        ResourceLimits.from_env({ENV_PREFIX + "MAX_FLOW_NODES": raw})
