# The one command surface, used the same way by people and by CI. `make help` lists it.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(HOME)/.cargo/bin:$(PATH)
HYPOTHESIS_PROFILE ?= ci
export HYPOTHESIS_PROFILE

.PHONY: help demo test test-rust test-python test-programs programs build bench bench-programs fuzz lint clean postgres

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

build: $(STAMP) ## build the extension in release mode into .venv
	$(VENV)/bin/maturin develop --release --quiet

demo: build programs ## run a simulated day of a campus market on the embedded defaults (settled through the trading program)
	$(PY) -m gridmatch demo

test: test-rust test-programs test-python ## every test: Rust (with the no_std build), the on-chain programs, Python

test-rust: $(STAMP)
	cargo test --workspace --exclude gridmatch-python
	cargo build -p gridmatch-core --no-default-features

test-python: build postgres programs
	$(PY) -m pytest -q

programs: ## build every on-chain program to SBF (installs Debian's rustc-web and sbpf-linker when missing)
	scripts/build-programs.sh

test-programs: # the programs' host-side unit tests (builds the programs first)
	scripts/build-programs.sh --test

postgres: # the journal's tests start a throwaway PostgreSQL server: install one if missing
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update && apt-get install -y --no-install-recommends postgresql)

bench: build ## criterion, pytest-benchmark and memory figures for bench/RESULTS.md (slow; not in test)
	cargo bench -p gridmatch-core --bench clearing_criterion --bench book_criterion
	$(PY) -m pytest bench/test_bench_clearing.py -q --benchmark-only --benchmark-columns=min,median,mean,max,rounds \
		--benchmark-json=.benchmarks/run.json
	$(PY) bench/report.py .benchmarks/run.json
	$(PY) bench/memory.py
	$(PY) -m pytest bench/test_bench_book.py -q --benchmark-only --benchmark-columns=min,median,mean,max,rounds \
		--benchmark-json=.benchmarks/book.json
	$(PY) bench/book_engines.py --report .benchmarks/book.json
	$(PY) bench/book_latency.py
	$(PY) -m pytest bench/test_bench_settlement.py -q --benchmark-only --benchmark-columns=min,median,max,rounds \
		--benchmark-json=.benchmarks/settlement.json
	$(MAKE) bench-programs

bench-programs: build programs ## the programs' compute units per instruction and largest batches (deterministic)
	$(PY) -m pytest -q -s tests -k compute_units

fuzz: build programs ## the long hunts: hypothesis 'thorough', 100k proptest cases, 40 crash runs a mode (2,000+ kills)
	PROPTEST_CASES=100000 cargo test -p gridmatch-core --release --test properties --test money_properties
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -q tests/test_properties.py tests/test_reference.py \
		tests/test_book_stateful.py tests/test_reference_book.py
	GRIDMATCH_CRASH_SEEDS=40 $(PY) -m pytest -q -s tests/test_crash.py

lint: build ## clippy -D warnings, ruff, mypy, stubtest
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check python tests bench
	$(VENV)/bin/ruff format --check python tests bench
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest gridmatch._core

clean: ## remove build products, the programs' tools and the virtual environment
	cargo clean
	rm -rf $(VENV) programs/target programs/.tools
