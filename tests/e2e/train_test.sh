#!/usr/bin/env bash
# End-to-end tests of training: fsml train, runs, resume after kill -9, and
# the failure paths. Usage: train_test.sh CASE. Uses a small synthetic,
# learnable data set (three classes of 8x8 patterns with noise) so each case
# takes seconds.
source "$(dirname "$0")/lib.sh"

epochs_json() { fsml runs show "$1" --json | py "[(e['epoch'], round(e['train_loss'], 6), e['val_accuracy']) for e in d['epochs']]"; }

case_learns_and_records_the_run() {
  setup
  expect_ok fsml train toy@v1 --model mlp --epochs 4 --batch-size 32 --test --json
  cp "$T/out" run.json
  expect_eq "$(py "d['status']" < run.json)" finished status
  expect_eq "$(py "len(d['epochs'])" < run.json)" 4 epochs
  # Loss falls; accuracy beats chance (1/3) by a wide margin.
  expect_eq "$(py "d['epochs'][-1]['train_loss'] < d['epochs'][0]['train_loss']" < run.json)" True "loss falls"
  expect_eq "$(py "d['epochs'][-1]['val_accuracy'] > 0.8" < run.json)" True "val accuracy > 0.8"
  expect_eq "$(py "d['test_metrics']['accuracy'] > 0.8 and d['test_metrics']['items'] == 300" < run.json)" True "test accuracy"
  # The run records what is needed to repeat it.
  expect_eq "$(py "(d['dataset'], d['model'], d['seed'], d['params']['optimizer'], d['params']['batch_size'])" < run.json)" \
    "('toy@v1', 'mlp', 0, 'adamw', 32)" recorded
  expect_eq "$(py "d['spec']['input'] == {'channels': 1, 'height': 8, 'width': 8} and len(d['spec']['normalize']['mean']) == 1" < run.json)" True spec
  [[ "$(py "d['code_version']" < run.json)" == 0.1.0* ]] || fail "code version not recorded"
  grep -q "started: mlp on toy@v1" <(py "d['log']" < run.json) || fail "run log"
  expect_ok fsml runs list --json
  expect_eq "$(py "[r['status'] for r in d]" < "$T/out")" "['finished']"
  expect_ok fsml runs show 1 --html report.html
  grep -q "<svg" report.html || fail "HTML report has no chart"
  grep -q "val accuracy" "$T/out" || fail "runs show has no curve"
  expect_ok fsml train toy@v1 --model cnn-small --epochs 2 --batch-size 64 --augment crop=1,flip,erase --seed 4
  expect_ok fsml runs compare 1 2 --json
  expect_eq "$(py "sorted(d['differences'])" < "$T/out" | tr -d ' ')" "['augment','batch_size','epochs','lr','model','model_params','seed','warmup_epochs','weight_decay']" compare
  expect_ok fsml doctor
}

case_same_seed_same_metrics() {
  setup
  expect_ok fsml train toy@v1 --model cnn-small --epochs 3 --batch-size 50 --seed 7 --augment crop,flip --threads 2
  expect_ok fsml train toy@v1 --model cnn-small --epochs 3 --batch-size 50 --seed 7 --augment crop,flip --threads 2
  a=$(epochs_json 1); b=$(epochs_json 2)
  expect_eq "$b" "$a" "same seed, same metrics"
  expect_ok fsml train toy@v1 --model cnn-small --epochs 3 --batch-size 50 --seed 8 --augment crop,flip --threads 2
  [[ "$(epochs_json 3)" != "$a" ]] || fail "another seed gave identical metrics"
}

case_resume_after_kill9_matches() {
  setup 3000
  args=(--model cnn-small --epochs 12 --batch-size 32 --seed 5 --threads 2)
  expect_ok fsml train toy@v1 "${args[@]}"
  want=$(epochs_json 1)
  "$FSML" -q train toy@v1 "${args[@]}" > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    e=$(fsml runs show 2 --json 2>/dev/null | py "d['checkpoint_epoch'] or 0" 2>/dev/null || echo 0)
    (( e >= 2 )) && break
    sleep 0.05
  done
  kill -9 "$pid"; wait "$pid" 2>/dev/null
  status=$(fsml runs show 2 --json | py "d['status']")
  expect_eq "$status" interrupted "status after kill -9"
  killed_at=$(fsml runs show 2 --json | py "d['checkpoint_epoch']")
  (( killed_at < 12 )) || fail "the run finished before the kill; the test did not interrupt it"
  expect_ok fsml doctor
  expect_ok fsml train --resume 2
  expect_eq "$(fsml runs show 2 --json | py "d['status']")" finished "status after resume"
  expect_eq "$(epochs_json 2)" "$want" "resumed run vs uninterrupted run"
  expect_fail "run 2 is finished; nothing to resume" fsml train --resume 2
  expect_fail "no run 99" fsml train --resume 99
}

case_checkpoint_failure_keeps_previous() {
  setup
  args=(--model mlp --epochs 3 --batch-size 32)
  "$FSML" -q train toy@v1 "${args[@]}" --model-param hidden=[512,512] > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    e=$(fsml runs show 1 --json 2>/dev/null | py "d['checkpoint_epoch'] or 0" 2>/dev/null || echo 0)
    (( e >= 1 )) && break
    sleep 0.02
  done
  kill -9 "$pid"; wait "$pid" 2>/dev/null
  before=$(fsml runs show 1 --json | py "(d['checkpoint_epoch'], d['checkpoint'])")
  # Files may not grow past 1 MB (a checkpoint of this model is ~3 MB): the
  # next checkpoint cannot be written, as on a full disk.
  (trap '' XFSZ; ulimit -f 1024; "$FSML" -q train --resume 1 > out.txt 2> err.txt); rc=$?
  (( rc != 0 )) || fail "training with no room for checkpoints succeeded"
  grep -q "saving the checkpoint of epoch" err.txt || { fail "no checkpoint error"; cat err.txt >&2; }
  grep -q "is intact" err.txt || fail "error does not say the previous checkpoint is intact"
  expect_eq "$(fsml runs show 1 --json | py "(d['checkpoint_epoch'], d['checkpoint'])")" "$before" "checkpoint after the failure"
  expect_eq "$(fsml runs show 1 --json | py "d['status']")" failed
  expect_ok fsml doctor
  expect_ok fsml train --resume 1
  expect_eq "$(fsml runs show 1 --json | py "(d['status'], len(d['epochs']))")" "('finished', 3)"
}

case_bad_input_errors() {
  setup
  expect_fail "unknown model 'vit' (models: mlp, cnn-small, resnet)" fsml train toy@v1 --model vit
  expect_fail "unknown optimizer 'lamb' (expected sgd or adamw)" fsml train toy@v1 --optimizer lamb
  expect_fail "unknown schedule 'linear'" fsml train toy@v1 --schedule linear
  expect_fail "unknown augmentation 'rotate'" fsml train toy@v1 --augment rotate
  expect_fail "model 'mlp' has no parameter 'width' (it has: hidden, dropout)" fsml train toy@v1 --model mlp --model-param width=3
  expect_fail "the value is not JSON" fsml train toy@v1 --model-param hidden=[1,
  expect_fail "--lr must be in (0, 100)" fsml train toy@v1 --lr 500
  expect_fail "fewer than one batch (4096)" fsml train toy@v1 --batch-size 4096
  expect_fail "give a dataset version (NAME@vN) or --resume RUN" fsml train
  expect_fail "no version toy@v7" fsml train toy@v7
  # A version with no test items cannot be tested.
  fsml project create notest --labels a,b,c > /dev/null
  fsml data export toy@v1 exp --format jsonl > /dev/null
  grep -v '"split":"test"' exp/data.jsonl > exp/notest.jsonl
  fsml import notest exp/notest.jsonl > /dev/null
  fsml data commit notest -m v1 > /dev/null
  expect_fail "notest@v1 has no items in the test split" fsml train notest@v1 --model mlp --epochs 1 --test
  # Out of memory: a model far larger than the address space allowed.
  (ulimit -v 6000000; "$FSML" -q train toy@v1 --model mlp --model-param 'hidden=[60000,60000]' --epochs 1 > out.txt 2> err.txt)
  grep -q "fsml: error: out of memory building the model" err.txt || { fail "no out-of-memory message"; cat err.txt >&2; }
  # Divergence stops with a clear message and marks the run failed.
  expect_fail "training diverged in epoch 1 (loss is" fsml train toy@v1 --model mlp --optimizer sgd --lr 99 --epochs 2 --batch-size 16
  expect_eq "$(fsml runs list --json | py "d[0]['status']")" failed "status after divergence"
  grep -q "try a lower --lr" "$T/err" || fail "divergence message lacks the fix"
}

run_case "$@"
