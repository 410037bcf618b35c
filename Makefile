# The README's two commands. Each creates .venv from the pinned dependencies when it is
# missing or the pins changed (the stamp file), so a second call does not reinstall.
VENV := .venv
STAMP := $(VENV)/.installed
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# No usage reports to DVC from builds and tests (and no network calls for them).
export DVC_NO_ANALYTICS := 1

.PHONY: run test lock chromium

run: $(STAMP)
	dvc repro
	bgrisk summary

test: $(STAMP) chromium
	ruff check .
	ruff format --check .
	pytest

$(STAMP): pyproject.toml requirements.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --constraint requirements.lock --editable '.[dev]'
	touch $(STAMP)

# Re-pin every transitive dependency after changing pyproject.toml.
lock: $(STAMP)
	$(VENV)/bin/pip freeze --exclude-editable > requirements.lock

# The scoring report's test opens it in a real headless browser: Debian's chromium package.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "make test needs chromium: apt-get install chromium (as root)" >&2; exit 1; }
