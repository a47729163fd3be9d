# Two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO ?= 1

.PHONY: run serve test test-sqlite lint bench-agent-load clean browser

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# The browser tests drive Debian's chromium; as root it is installed here.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq chromium; \
		else echo "chromium missing: install it (apt-get install chromium)"; fi; \
	fi

run: $(BIN)/.installed
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py sync_schedule
	DEBUG=1 $(BIN)/python manage.py bootstrap_demo
	DEBUG=1 EMBEDDED_SCHEDULER=1 DEMO=$(DEMO) $(BIN)/python -m spotopt.serve \
		--host $(HOST) --port $(PORT)

test: $(BIN)/.installed browser
	$(BIN)/pytest -n 2 --dist loadfile
	@if [ -n "$$DATABASE_URL" ]; then $(MAKE) --no-print-directory test-sqlite; fi

# The agent API is also checked on the embedded default, SQLite.
test-sqlite: $(BIN)/.installed
	DATABASE_URL= REDIS_URL= REQUIRE_SERVICES= $(BIN)/pytest -n 2 --dist loadfile \
		-m "not postgres and not redis" tests/agents tests/instances

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# Needs this machine's PostgreSQL and Redis; see docs/BENCHMARKS.md.
bench-agent-load: $(BIN)/.installed
	$(BIN)/python bench/agent_load.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 .demo-token
