"""Shared defences against hostile values, used by every edge (API, web UI, drivers, bridges):

- :mod:`voiceplatform.safety.switch_values`: the one validator for values that reach a switch or
  a carrier (numbers, caller ids, channel variables, AMI and ESL header values);
- :mod:`voiceplatform.safety.outbound_http`: the one policy for outbound HTTP (webhook deliveries
  and flow webhook nodes), so no request reaches loopback, private or link-local addresses;
- :mod:`voiceplatform.safety.secrets_at_rest`: secrets the platform reads back (webhook signing
  secrets) stored AES-GCM encrypted under the data key;
- :mod:`voiceplatform.safety.key_files`: key files in ``.state/`` (the web signing key, the data
  key), made once, atomically, mode 0600;
- :mod:`voiceplatform.safety.archives`: zip archives (.xlsx uploads) measured by inflating them
  through a counting stream before any parser opens them (zip bombs);

Resource limits live in :mod:`voiceplatform.limits`.
"""
