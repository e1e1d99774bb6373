# Dojo — the README names `make demo` and `make test`; both bootstrap .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint venv browser promtool js clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing Dojo and its dependencies into $(VENV) (first run: a minute or two; log in $(VENV)/install.log)"
	@( $(BIN)/python -m pip install --upgrade pip && $(BIN)/python -m pip install -e '.[dev]' ) \
		> $(VENV)/install.log 2>&1 || { tail -n 40 $(VENV)/install.log; echo "install failed: see $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

# Debian's chromium for the browser tests; never a browser downloaded by a test tool.
browser:
	@test -x /usr/bin/chromium || scripts/install-chromium.sh

# Debian's prometheus package, for `promtool check metrics` in the metrics tests.
promtool:
	@command -v promtool >/dev/null || scripts/install-promtool.sh

# The npm packages a standard client signs in with (siwe + ethers), for tests/worker_api/test_siwe_clients.py.
JS := tests/js/node_modules/.package-lock.json
$(JS): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error

js: $(JS)

demo: $(STAMP)
	$(BIN)/dojo localnet

test: $(STAMP) browser promtool $(JS)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP) browser
	@for f in bench/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) build *.egg-info
