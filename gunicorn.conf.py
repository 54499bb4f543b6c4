"""Production settings for `gunicorn app:app` (read automatically from this folder)."""

import glob
import multiprocessing
import os
import shutil
import sys
import tempfile

from gunicorn.glogging import Logger

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from feeds import logs
from feeds.startup import exit_if_unusable

# A bad FEEDS_* value or an unusable store stops the master here with one line,
# before any worker starts (app.py does the same when this file is not read).
_log_format = exit_if_unusable().log_format

# /metrics sums every worker's counters through files in this folder; it must be
# set before any worker imports prometheus_client. A folder we make, we remove.
_metrics_dir_given = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
    prefix="feeds-metrics-")
os.makedirs(_metrics_dir, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests are cheap (cached bytes); a few sync workers per core keep latency flat.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# Slow clients: a sync worker reading a request that arrives slowly is held until
# `timeout`; two half-sent requests stop two workers for a minute (gthread is held
# the same way once a request has begun). So gunicorn listens on loopback only,
# behind nginx (deploy/nginx/proxy.conf), which reads whole requests before passing
# them on. Anything else (another front, or granian, which slow clients cannot
# hold) must say so: GUNICORN_EXPOSED=1. `make bench` measures all three.
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _exposed(address: str) -> bool:
    if address.startswith(("unix:", "fd://")):
        return False
    host = address.rpartition(":")[0] if ":" in address else address
    return host.strip("[]") not in _LOOPBACK
# The first start on a large store indexes it in the background; keep this generous
# so a worker busy with a cold render is never killed mid-request.
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG")  # unset: no access log
# No forwarded header is trusted: a client's X-Forwarded-Proto passed on by a proxy
# must not turn the scheme of every link into https (links come from FEEDS_BASE_URL).
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
errorlog = "-"


class FeedsLogger(Logger):
    """gunicorn's own lines in the service's log format (FEEDS_LOG_FORMAT)."""

    def setup(self, cfg):  # type: ignore[no-untyped-def]
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(logs.formatter(_log_format))


logger_class = FeedsLogger


def on_starting(server):  # type: ignore[no-untyped-def]
    """Refuse an address slow clients can reach (see above); counters of an earlier run
    must not be added to this one's."""
    exposed = [address for address in server.cfg.bind if _exposed(address)]
    if exposed and os.environ.get("GUNICORN_EXPOSED") != "1":
        sys.exit(f"gunicorn.conf.py: refusing to listen on {', '.join(exposed)}: slow"
                 " clients hold sync workers; put the buffering nginx of"
                 " deploy/nginx/proxy.conf in front and listen on 127.0.0.1, or run granian"
                 " (README, Production); set GUNICORN_EXPOSED=1 if a buffering proxy"
                 " already fronts this address")
    for leftover in glob.glob(os.path.join(_metrics_dir, "*.db")):
        os.remove(leftover)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker that is gone: its live gauges stop counting (its counters stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def on_exit(server):  # type: ignore[no-untyped-def]
    if not _metrics_dir_given:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
