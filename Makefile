# The two commands: `make run` and `make test`. Each sets up .venv first, as do the others.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint db-upgrade providers bench cluster clean

run: db-upgrade
	$(BIN)/python run.py

# The database named by DATABASE_URL (default: instance/microblog.sqlite), migrated.
db-upgrade: $(STAMP)
	$(BIN)/flask --app microblog db upgrade

# Each provider's status and callback URL, e.g. make providers BASE_URL=https://blog.example.com
providers: $(STAMP)
	$(BIN)/flask --app microblog providers $(if $(BASE_URL),--base-url $(BASE_URL))

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Every Python file we own: ruff (check and format), the layering contracts, and mypy.
PY_SOURCES := microblog tests bench cluster migrations lint stubs run.py wsgi.py gunicorn.conf.py

lint: $(STAMP)
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/lint-imports
	$(BIN)/mypy

# The benchmark (bench/README.md): 10k and 100k posts on SQLite by default. Issue 13's runs:
# make bench BENCH_ARGS="--posts 10k,100k,1m"   (then with --database postgresql), and the home
# timeline at 10M posts: BENCH_ARGS="--posts 10k,10m --database postgresql --no-heavy".
# A quick check: BENCH_ARGS="--posts 10k --duration 1 --rounds 1 --no-signin --no-heavy
# --results /tmp/bench" (never over bench/results/latest.md from a loaded machine).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The cluster rig (README, "Deployment: a large site"; needs root, ip netns, haproxy, Redis and
# PostgreSQL): the seven proofs of issue 14, then a summary table. E.g. CLUSTER_ARGS="--soak 60"
CLUSTER_ARGS ?= --soak 600
cluster: $(STAMP)
	$(BIN)/python -m cluster $(CLUSTER_ARGS)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache
