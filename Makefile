# The two commands that matter: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test lint nginx golden bench bench-scale bench-mirror bench-search soak clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app app run --host 127.0.0.1 --port $(PORT)

test: $(STAMP) lint nginx
	$(BIN)/python -m pytest -q

# tests/test_nginx.py runs Debian's nginx; a fresh machine gets it here (as root).
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
		(apt-get update && apt-get install -y --no-install-recommends nginx-light)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy feeds app.py

golden: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_render.py --update-golden

bench: $(STAMP) nginx
	$(BIN)/python bench/poll.py

bench-scale: $(STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/scale.py

bench-mirror: $(STAMP) nginx
	$(BIN)/python bench/mirror.py

bench-search: $(STAMP)
	$(BIN)/python bench/search.py

soak: $(STAMP)
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
