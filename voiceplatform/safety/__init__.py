"""Shared defences against hostile values, used by every edge (API, web UI, drivers, bridges):

- :mod:`voiceplatform.safety.switch_values`: the one validator for values that reach a switch or
  a carrier (numbers, caller ids, channel variables, AMI and ESL header values);
- :mod:`voiceplatform.safety.outbound_http`: the one policy for outbound HTTP (webhook deliveries
  and flow webhook nodes), so no request reaches loopback, private or link-local addresses;

Resource limits live in :mod:`voiceplatform.limits`.
"""
