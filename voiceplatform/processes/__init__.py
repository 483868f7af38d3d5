"""The platform's processes, one module each: ``server`` (``voiceplatform serve``: the API, and in
the embedded mode the dialler too), ``worker`` (``voiceplatform worker``: dialling and rq jobs),
``runtime`` (gevent's monkey-patching and GC tuning, done once at a process's start) and
``bootstrap`` (the embedded mode's first start: the default account and its admin token).
Importing this package starts nothing; library code never imports it."""
