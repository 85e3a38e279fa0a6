#!/usr/bin/env bash
# The pipeline of `stenosis demo`, stage by stage, with the individual commands.
# Run from the repository root:   bash examples/walkthrough.sh [WORKDIR]
# About 4 minutes on 2 CPU cores; every stage skips work that is already up to date.
set -euo pipefail
WORK=${1:-walkthrough}
CONFIG=${CONFIG:-examples/configs/demo.yaml}
mkdir -p "$WORK"

# 1. A phantom cohort: 40 patients, volumes + centerlines + the three CSV tables.
#    (Your own data: write cases.csv, centerlines CSVs and instances.csv as in examples/own_data/.)
#    The demo trains on an even grade mix, so that the severe grades are seen often enough.
[ -f "$WORK/cohort/cases.csv" ] || stenosis synth --out "$WORK/cohort" --cases 40 --seed 0 --grade-mix 1,1,1,1,1 --workers 2

# 2. Check the tables and image headers before any long job (exit 2 and one line on bad input).
stenosis validate --manifest "$WORK/cohort/cases.csv" --instances "$WORK/cohort/instances.csv"

# 3. Straightened vessels (3D SCPR), with PNGs of the longitudinal planes of each vessel.
#    build-dataset runs this itself; it is shown here on its own.
stenosis extract-scpr --manifest "$WORK/cohort/cases.csv" -o "$WORK/scpr" --size 16 --pixel 0.5 --png "$WORK/views" --workers 2

# 4. The instance dataset: SCPR of each extended instance, CCTA patch, splits 3:1:1 by patient.
#    Small sizes for a CPU (the paper: --size 48 --pixel 0.4 --patch 64 --spacing 0.5, the defaults).
stenosis build-dataset --manifest "$WORK/cohort/cases.csv" --instances "$WORK/cohort/instances.csv" \
    -o "$WORK/dataset.h5" --size 16 --pixel 0.5 --patch 24 --spacing 1.0 --workers 2

# 5. Train the CFR model with the CR loss (GPU cluster: examples/configs/paper.yaml and examples/slurm/).
#    A rerun continues (or, when finished, keeps) the run in $WORK/run.
if [ -f "$WORK/run/last.pt" ]; then RESUME=--resume; else RESUME=; fi
stenosis train --dataset "$WORK/dataset.h5" --config "$CONFIG" --out "$WORK/run" $RESUME

# 6. Grade the test split, then score it (table on the terminal, JSON, Markdown, PNG plots).
stenosis predict --checkpoint "$WORK/run/best.pt" --dataset "$WORK/dataset.h5" --split test -o "$WORK/preds.csv"
stenosis evaluate "$WORK/preds.csv" --json "$WORK/report.json" --markdown "$WORK/report.md" --plot "$WORK/figures" --bootstrap 1000 --by case

# 7. Where does the model look? Grad-CAM of four test instances on the straightened vessel.
stenosis gradcam --checkpoint "$WORK/run/best.pt" --dataset "$WORK/dataset.h5" --random 4 --split test -o "$WORK/gradcam"
