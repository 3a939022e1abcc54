# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export QT_API := pyside6

.PHONY: run test install bench screenshots demo-models package package-check clean lint wheel-check man

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install only when the project's metadata changes.
$(STAMP): pyproject.toml packaging/install_torch.py | $(PY)
	$(PY) packaging/install_torch.py
	$(PY) -m pip install -q -e '.[test]'
	# the SoundFont synth without its unused pyaudio dependency (see the soundfont extra in pyproject.toml)
	$(PY) -m pip install -q --no-deps 'tinysoundfont>=0.3.7,<0.4'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/studio gui --demo

test: $(STAMP)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

screenshots: $(STAMP)
	$(PY) docs/make_screenshots.py

demo-models: $(STAMP)
	$(PY) studio/resources/demo/train_demo_models.py

clean:
	rm -rf $(VENV) build dist *.egg-info

# The wheel `pip install .` builds, installed non-editable into a fresh venv, runs doctor and the demo (.ci/wheel_check).
wheel-check: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) packaging/wheel_check.py

# studio(1) from the parser: build/man/studio.1 (`man -l build/man/studio.1`).
man: $(STAMP)
	$(PY) packaging/make_manpage.py --out build/man/studio.1

# Self-contained one-folder bundle (PyInstaller) in dist/generative-studio/; see packaging/README.md.
package: $(STAMP)
	$(PY) -m pip install -q 'pyinstaller>=6.3'
	$(PY) packaging/build_bundle.py

# Builds the bundle, then starts it with --demo --screenshot to prove it runs (slow: not part of CI).
package-check: $(STAMP)
	$(PY) -m pip install -q 'pyinstaller>=6.3'
	$(PY) packaging/build_bundle.py --check
