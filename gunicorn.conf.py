"""Production settings for `gunicorn app:app` (read automatically from this folder)."""

import multiprocessing
import os
import sys

from gunicorn.glogging import Logger

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from feeds import logs
from feeds.startup import exit_if_unusable, startup_settings

# A bad FEEDS_* value or an unusable store stops the master here with one line,
# before any worker starts (app.py does the same when this file is not read).
exit_if_unusable()
_log_format = startup_settings().log_format

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


class FeedsLogger(Logger):
    """gunicorn's own lines in the service's log format (FEEDS_LOG_FORMAT)."""

    def setup(self, cfg):  # type: ignore[no-untyped-def]
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(logs.formatter(_log_format))


logger_class = FeedsLogger
