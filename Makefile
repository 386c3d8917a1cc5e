# One-command entry points. Each target sets up what it needs on a fresh machine first.
SHELL := /bin/bash
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen --no-sync
DEMO_ARGS := --dataset toy --category wood --segmenter segformer --schedule short --from-scratch

.PHONY: setup browser demo test bench noise gpu-check leaderboard leaderboard-toy leaderboard-real clean-cache

# uv itself, then the locked environment. mmcv's compiled ops build here once (about 14 minutes on
# 2 cores); uv's cache keeps the built wheel, so later syncs take seconds.
.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --user uv
	$(UV) sync --frozen
	@touch $@

setup: .venv/.synced

# Headless Chromium for the site's browser test and the leaderboard screenshot (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && { apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; } ; } || \
	  echo "note: no Chromium and no apt-get to install it; the browser test will be skipped"

# Real-only baseline vs copy-paste synthetic data at ratio 1.0, three seeds each (about 5 minutes on 2 cores).
demo: setup
	for seed in 0 1 2; do \
	  $(RUN) bench run --generator none --ratio 0 --seed $$seed $(DEMO_ARGS) && \
	  $(RUN) bench run --generator copy-paste --ratio 1.0 --seed $$seed $(DEMO_ARGS) || exit 1; \
	done
	$(RUN) bench report --format markdown --out results

# Two pytest workers (one file each at a time, so a file's shared fixtures are built once): the tests train on
# one thread each, so the second core of a 2-core machine would otherwise idle. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
test: setup browser
	$(RUN) pytest -q -n $(TEST_WORKERS) --dist loadfile

# The leaderboard on real defects (docs/leaderboard.md): two public releases on disk, named by MAGNETIC_TILE and
# BSDATA (where to get them: docs/leaderboard.md); resumable; records, tables, plots and the site under
# results/leaderboard/.
leaderboard-real: setup browser
	@test -n "$(MAGNETIC_TILE)" -a -n "$(BSDATA)" || \
	  { echo "error: make leaderboard-real needs both releases on disk; give MAGNETIC_TILE=PATH BSDATA=PATH (docs/leaderboard.md)"; exit 2; }
	$(RUN) bench leaderboard --grid real --data-root magnetic-tile=$(MAGNETIC_TILE) --data-root bsdata=$(BSDATA) \
	  --executor local --jobs 2 --threads 1

# The toy leaderboard, the harness's mechanics on embedded data (docs/leaderboard.md): about 1.6 hours on 2 cores,
# resumable (rerun to finish after an interrupt); records, tables, plots and the site under results/leaderboard-toy/.
leaderboard-toy: setup browser
	$(RUN) bench leaderboard --grid toy --executor local --jobs 2 --threads 1

leaderboard: leaderboard-toy

# Benchmarks, not tests: JSON + markdown under results/perf/, device named in each file.
bench: setup
	$(RUN) bench perf segmenters --size 512 --batch-size 4 --warmup 2 --iters 5
	$(RUN) python -m bench.perf.train_step
	$(RUN) python -m bench.perf.grid
	$(RUN) python -m bench.perf.generators
	$(RUN) python -m bench.perf.toy_baseline
	$(RUN) python -m bench.perf.learned_toy

# Where the toy leaderboard's noise comes from, and what paired batches buy (docs/metrics.md, "Noise"): the
# committed results/perf/variance.* and pairing.*, about 2 and 4 hours of one core (docs/metrics.md); resumable,
# their runs kept in results/perf/*-runs/.
noise: setup
	$(RUN) python -m bench.perf.variance --categories wood --generators 'copy-paste;dcdganc' --only dcdganc=fitting,seed --repeats 4
	$(RUN) python -m bench.perf.pairing --seeds 5 --generators 'copy-paste;cutpaste;perlin;poisson;augment;hmi;dcdganc'

# The first thing to run on a GPU (docs/scaling.md, "GPU check"): under 8 minutes, installs nothing beyond
# the locked environment, writes results/perf/gpu-<device>.{json,md}. GPU_CHECK_ARGS=--parts grid,sampling
# runs some parts only; --device cpu runs them all at tiny sizes (the tests do).
gpu-check: setup
	$(RUN) python -m bench.perf.gpu_check $(GPU_CHECK_ARGS)

clean-cache:
	rm -rf $${BENCH_CACHE:-$$HOME/.cache/bench}
