"""The HTTP API (FastAPI): thin routes over the read, intake and audit layers; who may call what is in deps.py."""
