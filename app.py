"""WSGI entry point: `flask --app app run`, `gunicorn app:app`."""

from feeds.startup import create_app_or_exit
from feeds.web import create_app

app = create_app_or_exit(create_app)
