# The two commands a newcomer needs: `make serve` and `make test`. Everything else is for development.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUF    := .tools/node_modules/.bin/buf
BUF_VERSION := 1.75.0
SERVICE_HOME ?= var/home
# Where `make serve` listens: `make serve ADDRESS=127.0.0.1:50052`, or LICENSING_ADDRESS as for every client.
ADDRESS ?= $(or $(LICENSING_ADDRESS),127.0.0.1:50051)

.PHONY: venv lock serve test test-quick doc-tools pg browser proto proto-check lint lint-proto format hooks bench bench-quick bench-clients clean \
	c-client js-client console-screenshots

# Every dependency from requirements.lock (pinned, hashes checked), then this tree's two packages.
$(STAMP): pyproject.toml clients/python/pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e clients/python -e .
	touch $(STAMP)

venv: $(STAMP)

## Re-pin requirements.lock (versions and hashes) after a dependency changes in a pyproject.toml.
lock: $(STAMP)
	$(PY) -m pip install --quiet "pip-tools>=7.4"
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-header \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock requirements.in
	sed -i '1,/^[a-z]/{/^[a-z]/!d}; /^-e /d; /^# WARNING: pip install will require/d; /^# Consider using a hashable URL/d' requirements.lock
	sed -i '1i # Made by `make lock` from requirements.in (pip-compile --generate-hashes); do not edit by hand.' requirements.lock

## Run the server on the embedded SQLite default, with a development keyring and tokens in $(SERVICE_HOME).
serve: $(STAMP)
	@test -f $(SERVICE_HOME)/keyring.bin || LICENSING_HOME=$(SERVICE_HOME) $(VENV)/bin/licensing init --dev
	LICENSING_HOME=$(SERVICE_HOME) LICENSING_PASSPHRASE_FILE=$(SERVICE_HOME)/passphrase \
		$(VENV)/bin/licensing serve --address $(ADDRESS)

## Run the whole test suite (SQLite and PostgreSQL; buf lint of the proto; the C and TypeScript
## clients; the console in Chromium), on every core. Each test file runs on one worker
## (--dist loadfile): its module's server starts once.
TEST_TOOLS := $(STAMP) $(BUF) pg doc-tools browser c-client js-client
test: $(TEST_TOOLS)
	$(PY) -m pytest -n auto --dist loadfile

## The suite without the three slow tests (fresh-clone README run, crash safety, bench-quick).
test-quick: $(TEST_TOOLS)
	$(PY) -m pytest -n auto --dist loadfile -m "not slow"

## What docs/operations.md's blocks call (tests/test_docs.py runs them): the sqlite3 shell, pg_dump.
doc-tools:
	@command -v sqlite3 >/dev/null || (apt-get update -qq && apt-get install -y -qq sqlite3)
	@command -v pg_dump >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql-client)

## Debian's Chromium and its driver for the console's browser tests (never a downloaded browser).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver)

## Screenshots of the console's main pages into docs/console/ (from the browser tests).
console-screenshots: $(STAMP) browser
	LICENSING_CONSOLE_SCREENSHOTS=docs/console $(PY) -m pytest -q -p no:cacheprovider tests/console/test_browser.py

## Start the local PostgreSQL cluster if it is installed and not running.
pg:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
		for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

## Build the C validator (clients/c) and its tests; installs its Debian packages when missing.
C_PACKAGES := libsodium-dev libidn-dev pkg-config cmake gcc g++
c-client:
	@dpkg -s $(C_PACKAGES) >/dev/null 2>&1 || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(C_PACKAGES))
	@test -f clients/c/build/CMakeCache.txt || cmake -S clients/c -B clients/c/build -DCMAKE_BUILD_TYPE=Release
	cmake --build clients/c/build -j2

proto: $(STAMP)
	$(PY) scripts/gen_protos.py

proto-check: $(STAMP)
	$(PY) scripts/gen_protos.py --check

$(BUF):
	npm install --no-save --no-audit --no-fund --prefix .tools @bufbuild/buf@$(BUF_VERSION)

lint-proto: $(BUF)
	$(BUF) lint proto

## Every static check, in the order that reports the most before the first failure: ruff's rules,
## mypy --strict (the server, the Python client, the tests and the benchmarks), buf lint, the two
## drift checks (committed stubs and test vectors against what their scripts make), and last
## whether `make format` would change anything. `.ci/run` runs it before `make test`.
PY_SOURCES := licensing clients tests bench scripts examples
lint: $(STAMP) lint-proto
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/mypy licensing clients/python/src tests bench
	$(PY) scripts/gen_protos.py --check
	$(PY) tests/vectors/generate.py --check
	$(VENV)/bin/ruff format --check $(PY_SOURCES)

## The pre-commit hooks of .pre-commit-config.yaml (the checks of `make lint`, run from .venv).
hooks: $(STAMP) $(BUF)
	$(PY) -m pip install --quiet "pre-commit>=3.7"
	$(VENV)/bin/pre-commit install

## Format the Python sources with ruff (configured in pyproject.toml's [tool.ruff.format]).
format: $(STAMP)
	$(VENV)/bin/ruff format $(PY_SOURCES)
	$(VENV)/bin/ruff check --fix --select I $(PY_SOURCES)

## Every benchmark in bench/ (several minutes); writes docs/benchmarks.md and docs/bench-issuance.png.
bench: $(STAMP) pg
	$(PY) bench/run_all.py --write docs/benchmarks.md

## The TypeScript and C validators against their own raw Ed25519 verify (docs/benchmarks.md).
bench-clients: c-client js-client
	clients/c/build/license_bench tests/vectors 21 2000
	node clients/js/bench/bench.mjs --rounds 9 --keys 400 --starts 21

## Every benchmark at tiny sizes (under a minute; what CI runs so the harness keeps working); writes nothing.
bench-quick: $(STAMP) pg
	$(PY) bench/run_all.py --quick

clean:
	rm -rf $(VENV) .tools .pytest_cache .hypothesis .mypy_cache .ruff_cache clients/js/node_modules clients/js/dist

## The TypeScript offline validator (clients/js): npm ci and tsc, each only when its inputs changed.
JS       := clients/js
JS_DEPS  := $(JS)/node_modules/.package-lock.json
JS_BUILT := $(JS)/dist/.built

$(JS_DEPS): $(JS)/package.json $(JS)/package-lock.json
	npm ci --prefix $(JS) --no-audit --no-fund --ignore-scripts
	touch $(JS_DEPS)

$(JS_BUILT): $(JS_DEPS) $(JS)/tsconfig.json $(wildcard $(JS)/src/*.ts $(JS)/src/generated/*.ts)
	npm run --silent --prefix $(JS) build
	touch $(JS_BUILT)

js-client: $(JS_BUILT)

## Reliability at full size (`make test` runs the same tests smaller): SIGKILL 200 times per engine under load.
.PHONY: crash fuzz
crash: $(STAMP) pg
	LICENSING_CRASH_KILLS=200 $(PY) -m pytest -q -s -p no:cacheprovider tests/reliability/test_crash_safety.py

## Fuzz the key reader with 200,000 inputs, every RPC with 300 hostile requests per engine, and run 40 model runs.
fuzz: $(STAMP) pg
	LICENSING_FUZZ_INPUTS=200000 LICENSING_FUZZ_EXAMPLES=5000 LICENSING_BAD_INPUT_EXAMPLES=300 LICENSING_MODEL_EXAMPLES=40 \
		$(PY) -m pytest -q -s -p no:cacheprovider tests/reliability/test_fuzz_keys.py tests/reliability/test_bad_input.py tests/reliability/test_model.py
