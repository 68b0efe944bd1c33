"""OpenTelemetry for OneStory: traces across every hop, metrics without personal data, JSON logs with trace ids.

Call :func:`hub.telemetry.setup.configure_telemetry` once at process start (``onestory up``, ``worker``, ``api``,
``mllp``); everything else uses the OpenTelemetry API, which is a cheap no-op until a provider is installed.
"""
