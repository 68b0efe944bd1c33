# OneStory hub: one image, one entry point (`onestory`); the helm chart picks the command per workload
# (api, worker, mllp, migrate, topics create). Runs as a non-root user on a read-only root filesystem.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY connectors ./connectors
COPY projections ./projections
COPY consent_engine ./consent_engine
COPY schemas ./schemas

# pip installs the dependencies and the `onestory` entry point. The code itself runs from /app (PYTHONPATH
# puts it ahead of site-packages) so that hub/events/codec.py finds schemas/avro beside it, exactly as in
# the repository; the first check fails the build if that ever stops being true. The runtime only: the
# benchmarks' `tools` extra (matplotlib) is not installed, and the second check fails the build if a runtime
# dependency ever brings it in (`onestory bench` in the image says to install onestory[tools]).
RUN pip install . \
 && python -m compileall -q /app \
 && python -c "import hub.events.codec as c; assert str(c.default_schema_dir()).startswith('/app/'); c.EventCodec.load()" \
 && python -c "import importlib.util as u; assert u.find_spec('matplotlib') is None, 'matplotlib in the image'" \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/onestory --no-create-home onestory \
 && mkdir -p /var/lib/onestory \
 && chown 10001:10001 /var/lib/onestory

USER 10001:10001
WORKDIR /var/lib/onestory
ENV ONESTORY_DATA_DIR=/var/lib/onestory
EXPOSE 8080 2575
ENTRYPOINT ["onestory"]
CMD ["--help"]
