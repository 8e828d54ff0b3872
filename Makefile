# Two commands on a fresh machine: `make chat` (install, then chat over the seed articles)
# and `make test` (install, then run the whole test suite).
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: install chat build test system-deps bench clean

$(BIN)/qa: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	# constraints.txt keeps PyTorch on a CPU build (see README, "Set-up")
	$(BIN)/pip install -c constraints.txt -e '.[test]'
	touch $@

install: $(BIN)/qa

chat: install
	$(BIN)/qa chat

build: install
	$(BIN)/qa build

# Chromium and a CJK font for the browser tests (Debian/Ubuntu; needs root or sudo).
system-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei; \
	fi

test: install system-deps
	# two workers, each test file on one (its module's server and browser stay together); every
	# numeric library on one thread (tests/conftest.py), so the two never fight over the cores
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .cache
