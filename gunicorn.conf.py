"""Production settings for `gunicorn app:app` (read automatically from this folder)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests are cheap (cached bytes); a few sync workers per core keep latency flat.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# The first start on a large store indexes it in the background; keep this generous
# so a worker busy with a cold render is never killed mid-request.
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG")  # unset: no access log
errorlog = "-"
