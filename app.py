"""WSGI entry point: `flask --app app run`, `gunicorn app:app`."""

from feeds.web import create_app

app = create_app()
