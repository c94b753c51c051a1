# Two entry points for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Debian's Chromium, for the console's browser tests (Playwright drives it; it downloads no browser)
CHROMIUM := /usr/bin/chromium
JP_FONT  := /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf

.PHONY: run test lint typecheck unit screenshots bench bench-peers waiting-line cutoff-load soak chaos two-nodes db-outage failover fuzz fuzz-api clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  echo "python3 -m venv failed: installing python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# $(call apt_install,PACKAGES): Debian packages, as root or through sudo
apt_install = if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	elif command -v sudo >/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	else echo "cannot install $(1): run 'apt-get install $(1)' as root"; exit 1; fi

$(CHROMIUM):
	@echo "installing Debian's chromium for the console's browser tests"
	@$(call apt_install,chromium)

$(JP_FONT):
	@echo "installing a Japanese font for the console's screenshots and the invoice PDFs"
	@$(call apt_install,fonts-ipafont-gothic)

run: $(STAMP)
	CALLD_DEMO=$${CALLD_DEMO:-true} $(PY) -m daemon run

lint: $(STAMP)
	$(VENV)/bin/ruff check daemon emulator tests benchmarks fuzz
	$(VENV)/bin/ruff format --check daemon emulator tests benchmarks fuzz

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP) $(CHROMIUM) $(JP_FONT)
	$(PY) -m pytest -q -p no:cacheprovider --durations=25 -n 2 --dist loadfile

# The console's screenshots in docs/screenshots/ (the README shows them), taken by its browser tests.
screenshots: $(STAMP) $(CHROMIUM) $(JP_FONT)
	CALLD_SCREENSHOTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/console/browser

test: lint typecheck unit

# Issue 22's aims first: the daemon and its PostgreSQL pinned to one core, the generator on the other, five runs.
bench: $(STAMP)
	$(PY) -m benchmarks.bench_peers --servers calld --repeat 5 --latency-seconds 10
	$(PY) -m benchmarks.setup_rate
	$(PY) -m benchmarks.db_round_trip
	$(PY) -m benchmarks.session_path
	$(PY) -m benchmarks.coaching
	$(PY) -m benchmarks.cutoff_load
	$(PY) -m benchmarks.audio

# This daemon against a bare asyncio server, a greenswitch app and a genesis app, one sitting, one table.
# The libraries go into a throw-away environment, never into the daemon's.
PEERS_VENV ?= /tmp/calld-bench-peers
bench-peers: $(STAMP)
	@test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q greenswitch gevent genesis
	$(PY) -m benchmarks.bench_peers --peer-python $(PEERS_VENV)/bin/python $(if $(CALLS),--calls $(CALLS))

# 1,000 live prepaid calls cut off while set-ups run at 300/s: cutoff error, backstop-ended talks, loop lag.
cutoff-load: $(STAMP)
	$(PY) -m benchmarks.cutoff_load --calls $${CALLS:-1000} --rate $${RATE:-300}

# Coverage-guided fuzzing of the ESL codec (atheris/libFuzzer), seeded with the transcripts.
FUZZ_RUNS ?= 10000000
fuzz: $(STAMP)
	$(PY) -m pip install -q 'atheris>=2.3'
	$(PY) -m fuzz.esl_parser -runs=$(FUZZ_RUNS) -rss_limit_mb=1024 -timeout=5 -print_final_stats=1

# schemathesis over the whole OpenAPI document against a running daemon (real database).
fuzz-api: $(STAMP)
	$(PY) -m pip install -q 'schemathesis>=4.0'
	$(PY) -m fuzz.api --examples $${EXAMPLES:-100}

# kill -9 under load: every call charged exactly once after the restart (exits non-zero otherwise).
chaos: $(STAMP)
	$(PY) -m benchmarks.chaos_kill --calls $${CALLS:-300}

# Callers waiting on a busy group: a counsellor freed → their phone ringing, p50/p99 (BENCHMARKS.md).
waiting-line: $(STAMP)
	$(PY) -m benchmarks.waiting_line --callers $${CALLERS:-200} --counsellors $${COUNSELLORS:-20}

# Two daemons, two emulated FreeSWITCHes, one PostgreSQL: lines, one balance, a node killed (exits non-zero otherwise).
two-nodes: $(STAMP)
	$(PY) -m benchmarks.two_nodes --calls $${CALLS:-30} --lines $${LINES:-8}

# PostgreSQL stopped for 10 s, then hung for 10 s, with prepaid calls talking (exits non-zero on a broken promise).
db-outage: $(STAMP)
	$(PY) -m benchmarks.db_outage --calls $${CALLS:-30}

# Primary PostgreSQL killed, synchronous standby promoted, with prepaid calls talking (exits non-zero on a broken promise).
failover: $(STAMP)
	$(PY) -m benchmarks.failover --calls $${CALLS:-30}

# Ten minutes of a realistic call mix, then leak and money audits (exits non-zero otherwise).
soak: $(STAMP)
	$(PY) -m benchmarks.soak --minutes $${MINUTES:-10} --concurrent $${CONCURRENT:-1000}

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
