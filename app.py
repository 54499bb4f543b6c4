"""WSGI entry point: `flask --app app run`, `gunicorn app:app`."""

from feeds.startup import create_app_or_exit

app = create_app_or_exit()
