# The two commands of the README: `make demo` and `make test`. Everything else is a step of theirs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROD_CHECK_ENV := DJANGO_SETTINGS_MODULE=portal.settings.production ALLOWED_HOSTS=portal.example.org \
	SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))')

.PHONY: demo test install system-packages system-packages-test messages lint check pytest bench

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv || true
	if [ -x $(BIN)/uv ]; then \
		$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock; \
	else \
		$(BIN)/python -m pip install -q -r requirements.lock; \
	fi
	touch $@

install: $(VENV)/.installed

system-packages:
	bash scripts/system-packages.sh demo

system-packages-test:
	bash scripts/system-packages.sh test

messages: install
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var -v0

demo: install system-packages messages
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

check: install
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(PROD_CHECK_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

# Two pytest-xdist workers, each with its own test database, media, broker folder and queue
# (portal/settings/test.py); a module sharing one costly fixture stays on one worker
# (tests/conftest.py). PYTEST_ARGS="-n 0" runs in one process.
PYTEST_ARGS ?= -n 2 --dist loadgroup
pytest: install system-packages-test messages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint check pytest

# make bench BENCH_ARGS="--scale M" (with DATABASE_URL set): see README, "Performance".
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)
