# Everything a fresh machine needs beyond Python 3 and make is installed here, into .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# One stamp per set of extras, redone when pyproject.toml changes.
$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,demo]'
	touch $@

demo: $(VENV)/.demo
	$(BIN)/seqdoctor demo

lint: $(VENV)/.test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

unit: $(VENV)/.test
	$(BIN)/pytest tests/unit

# Benchmarks (not part of make test): each bench/*.py script writes bench/results/NAME.md,
# gathered into bench/RESULTS.md. check_postgres joins the comparison when it can be installed.
# The package is compiled to bytecode first, as pip does on install: under
# PYTHONDONTWRITEBYTECODE every run would compile it again, a tenth of a small audit.
bench: $(VENV)/.test
	-command -v check_postgres >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq check-postgres; }
	$(BIN)/python -m compileall -q src
	for script in bench/*.py; do \
		case $$script in bench/generate.py) continue;; esac; \
		$(BIN)/python $$script || exit 1; \
	done
	{ echo "# Benchmark results"; echo; echo "Written by \`make bench\`; each section by its script in bench/."; \
	  for part in bench/results/*.md; do echo; cat $$part; done; } > bench/RESULTS.md

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
