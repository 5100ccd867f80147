# The two commands: `make run` serves the portal, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q
DEV_ENV := DEBUG=1

.PHONY: run test test-fast install install-dev browser nginx gettext messages bench-tools lint deploy-check lock demo worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.pip-installed: requirements-pip.lock | $(BIN)/python
	$(PIP) --require-hashes -r requirements-pip.lock
	touch $@

$(VENV)/.runtime-installed: requirements.lock | $(VENV)/.pip-installed
	$(PIP) -r requirements.lock
	touch $@

$(VENV)/.dev-installed: requirements-dev.lock | $(VENV)/.pip-installed
	$(PIP) -r requirements-dev.lock
	touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

## browser: Debian's Chromium for the browser tests (Playwright drives it; it downloads nothing),
## and a Chinese font for the Simplified Chinese pages
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
	  echo "Chromium could not be installed: browser tests will be skipped."
	@fc-list :lang=zh 2>/dev/null | grep -q . || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei) || \
	  echo "No Chinese font could be installed: Chinese pages' screenshots will show boxes."

## nginx: Debian's nginx for the test that runs deploy/nginx (its log keeps no installation ID)
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light) || \
	  echo "nginx could not be installed: the nginx test will be skipped."

## bench-tools: Debian's wrk, the C load generator bench/ingest drives (it downloads nothing)
bench-tools:
	@command -v wrk >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) || \
	  (echo "wrk could not be installed: bench/ingest cannot run." >&2; exit 1)

## gettext: Debian's gettext, whose msgfmt compiles the translations (locale/)
gettext:
	@command -v msgfmt >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext) || \
	  (echo "gettext could not be installed: the translations cannot be compiled." >&2; exit 1)

## messages: compile locale/*/LC_MESSAGES/django.po into the .mo files Django reads
messages: install gettext
	@$(DEV_ENV) $(BIN)/python manage.py compilemessages --ignore=$(VENV) -v 0

## run: install, migrate, load demo data and accounts, serve on http://127.0.0.1:8000
run: install messages
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py seed_demo
	$(DEV_ENV) $(BIN)/gunicorn -c deploy/gunicorn.conf.py portal.wsgi

# The tests run on PostgreSQL and Redis when they answer on their default local ports
# (a database and a Redis db of their own), else on SQLite with Celery in-process; the
# first line says which. DATABASE_URL and REDIS_URL given explicitly win.
TEST_SERVICES = services=$$($(BIN)/python tests/local_services.py) || exit 1; eval "$$services"

## test: install what the tests need and run the whole suite
test: install-dev browser nginx messages
	@$(TEST_SERVICES); $(BIN)/python -m pytest $(PYTEST_ARGS)

## test-fast: the quick loop: every test not marked slow (under a minute on PostgreSQL)
test-fast: install-dev messages
	@$(TEST_SERVICES); $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## lint: ruff, the import contracts and mypy (its Django plugin imports the settings,
## which DEBUG=1 lets load without a SECRET_KEY)
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(DEV_ENV) $(BIN)/mypy

## deploy-check: the container image and the Kubernetes manifests, checked statically
## (no container engine or cluster needed): hadolint on the Containerfile, then the
## rendered kustomization against Kubernetes' schema, strictly (unknown fields refused).
## kubernetes-validate only warns about a kind it has no schema for: that fails here too.
KUBERNETES_VERSION := 1.33.0
deploy-check: install-dev
	$(BIN)/hadolint Containerfile
	@manifests=$$(mktemp) && trap 'rm -f "$$manifests"' EXIT && \
	  $(BIN)/python deploy/kubernetes/render.py deploy/kubernetes > "$$manifests" && \
	  report=$$($(BIN)/kubernetes-validate --strict -k $(KUBERNETES_VERSION) "$$manifests"); \
	  status=$$?; echo "$$report" | sed "s|$$manifests|deploy/kubernetes|"; \
	  if [ $$status -ne 0 ]; then exit $$status; fi; \
	  if echo "$$report" | grep -q '^WARN'; then \
	    echo "deploy-check: a resource kind has no schema in Kubernetes $(KUBERNETES_VERSION)" >&2; exit 1; \
	  fi

## lock: re-resolve the pinned dependencies from pyproject.toml
lock: $(BIN)/python
	$(PIP) uv
	$(BIN)/uv pip compile -q pyproject.toml -o requirements.lock --python-version 3.11 --generate-hashes
	$(BIN)/uv pip compile -q pyproject.toml --extra dev -o requirements-dev.lock --python-version 3.11 --generate-hashes

worker: install
	$(BIN)/celery -A portal worker -l info

beat: install
	$(BIN)/celery -A portal beat -l info

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
