#!/usr/bin/env bash
# End-to-end tests of the registry, prediction and evaluation: train ->
# register -> alias production -> predict -> eval (HTML) -> compare ->
# lineage, the requirements gate, the Python interop of exported models,
# label-issue detection and the bad inputs. Usage: model_test.sh CASE.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

# A trained cnn-small (run 1) registered as toy/1. 3% of the labels are
# wrong, so the model makes mistakes to show.
trained_model() {
  setup "${1:-1500}" 0.03
  expect_ok fsml train toy@v1 --model cnn-small --epochs 3 --batch-size 32 --augment none --test --seed 3
  expect_ok fsml models register 1 --name toy --json
}

# A few test images as files: data/export/test/<label>/<id>.png
export_images() { [[ -d export ]] || fsml data export toy@v1 export --format imagefolder > /dev/null || fail "export"; }

case_chain() {
  trained_model
  expect_eq "$(py "(d['ref'], d['run'], d['architecture'], len(d['weights_sha256']))" < "$T/out")" "('toy/1', 1, 'cnn-small', 64)" register
  expect_ok fsml models list --json
  expect_eq "$(py "[(m['name'], m['versions']) for m in d]" < "$T/out")" "[('toy', 1)]" "models list"
  expect_ok fsml project require toy "accuracy >= 0.5" "recall[b] >= 0.3" "ece<=0.5"
  grep -qx "ece <= 0.5" "$T/out" || fail "requirement not normalized: $(cat "$T/out")"
  expect_ok fsml eval toy/1 toy@v1 --html report.html --json
  cp "$T/out" eval1.json
  expect_eq "$(py "(d['id'], d['model'], d['dataset'], d['split'], d['metrics']['items'], d['passed'])" < eval1.json)" \
    "(1, 'toy/1', 'toy@v1', 'test', 300, True)" "eval summary"
  expect_eq "$(py "len(d['metrics']['confusion']) == 3 and sum(map(sum, d['metrics']['confusion'])) == 300" < eval1.json)" True confusion
  expect_eq "$(py "[r['passed'] for r in d['requirements']]" < eval1.json)" "[True, True, True]" requirements
  # The run's own test accuracy and the evaluation of the registered best epoch agree.
  run_acc=$(fsml runs show 1 --json | py "d['test_metrics']['accuracy']")
  expect_eq "$(py "d['metrics']['accuracy']" < eval1.json)" "$run_acc" "run test accuracy vs eval"
  grep -q '<svg id="confusion"' report.html || fail "report has no confusion matrix"
  grep -q 'data:image/png;base64,' report.html || fail "report has no thumbnails"
  # The report opens in Chromium, offline: confusion matrix, charts, decoded thumbnails.
  expect_ok node "$HERE/../browser/check_report.mjs" "$T/report.html" "$T/report.png"
  [[ -s report.png ]] || fail "no screenshot"
  # Production, then predict by alias.
  expect_ok fsml models alias toy 1 production
  export_images
  files=(export/test/a/*.png); f_a=${files[0]}
  files=(export/test/c/*.png); f_c=${files[0]}
  expect_ok fsml predict toy@production "$f_a" "$f_c" --top-k 2 --json
  expect_eq "$(py "(d['model'], [p['label'] for p in d['predictions']], len(d['predictions'][0]['top']))" < "$T/out")" \
    "('toy/1', ['a', 'c'], 2)" predict
  expect_ok fsml predict toy@production "$f_a"
  grep -q "^$f_a: a 0\.[0-9]*, " "$T/out" || fail "predict text output: $(cat "$T/out")"
  # A second model, evaluated and compared.
  expect_ok fsml train toy@v1 --model mlp --epochs 2 --batch-size 32 --seed 1
  expect_ok fsml models register 2 --name toy
  expect_ok fsml eval toy/2 toy@v1
  grep -q "^accuracy 0\." "$T/out" || fail "eval text output lacks accuracy"
  expect_ok fsml eval compare 1 2 --json
  expect_eq "$(py "(d['paired_items'], d['fixed'] + d['broken'] + d['both_right'] + d['both_wrong'], 0 <= d['mcnemar']['p_value'] <= 1)" < "$T/out")" \
    "(300, 300, True)" compare
  expect_ok fsml eval compare 1 2
  grep -q "McNemar's test" "$T/out" || fail "compare text output"
  expect_ok fsml eval list --json
  expect_eq "$(py "[e['id'] for e in d]" < "$T/out")" "[2, 1]" "eval list"
  expect_ok fsml eval show 1 --html again.html
  [[ -s again.html ]] || fail "eval show --html wrote nothing"
  # Lineage: model -> run -> dataset version -> annotators.
  expect_ok fsml models lineage toy@production --json
  expect_eq "$(py "(d['model']['ref'], d['run']['id'], d['dataset']['ref'], d['dataset']['items'], [a['origin'] for a in d['dataset']['annotators']])" < "$T/out")" \
    "('toy/1', 1, 'toy@v1', 1800, ['import'])" lineage
  expect_ok fsml models lineage toy@production
  grep -q "<- dataset toy@v1" "$T/out" || fail "lineage text"
  expect_ok fsml models show toy/1
  grep -q "production" "$T/out" || fail "models show lacks the alias"
  expect_ok fsml doctor
}

case_production_gate() {
  trained_model
  expect_ok fsml project require toy "accuracy >= 0.9999" "recall[a] >= 0.1"
  expect_fail "toy/1 has no evaluation on the test split of toy@v1" fsml models alias toy 1 production
  expect_ok fsml eval toy/1 toy@v1
  expect_fail "fails the requirements of toy on toy@v1 (evaluation 1): accuracy >= 0.9999 (is" fsml models alias toy 1 production
  grep -q "recall\[a\]" "$T/err" && fail "a passing criterion was named as failing"
  # Other aliases are not gated; --force is recorded.
  expect_ok fsml models alias toy 1 staging
  expect_ok fsml models alias toy 1 production --force --note "hotfix"
  expect_ok fsml models history toy --json
  expect_eq "$(py "[(e['alias'], e['number'], e['forced']) for e in d]" < "$T/out")" "[('staging', 1, False), ('production', 1, True)]" history
  expect_eq "$(py "'accuracy >= 0.9999' in d[1]['note'] and 'hotfix' in d[1]['note']" < "$T/out")" True "forced note"
  # Relaxed requirements pass; aliases move atomically and keep history.
  expect_ok fsml train toy@v1 --model mlp --epochs 2 --batch-size 32
  expect_ok fsml models register 2 --name toy
  expect_ok fsml project require toy "accuracy >= 0.4"
  expect_ok fsml eval toy/2 toy@v1
  expect_ok fsml models alias toy 2 production
  expect_ok fsml models history toy --json
  expect_eq "$(py "(d[-1]['previous'], d[-1]['number'])" < "$T/out")" "(1, 2)" "alias move"
  # Delete: refused while aliased, then allowed.
  expect_fail "toy/1 is aliased as staging" fsml models delete toy/1
  expect_ok fsml models unalias toy staging
  expect_ok fsml models delete toy/1
  expect_fail "model 'toy' has no version 1" fsml models show toy/1
  expect_ok fsml project require toy --clear
  grep -q "no requirements" "$T/out" || fail "require --clear"
}

case_python_interop() {
  trained_model
  expect_ok fsml models export toy/1 exported
  for f in model.safetensors spec.json fsml_model.py README.md; do [[ -s exported/$f ]] || fail "export lacks $f"; done
  expect_eq "$(sha256sum exported/model.safetensors | cut -d' ' -f1)" "$(py "d['weights_sha256']" < exported/spec.json)" checksum
  export_images
  mapfile -t files < <(ls export/test/*/*.png | head -12)
  expect_ok fsml predict toy/1 "${files[@]}" --json
  cp "$T/out" fsml_pred.json
  # A plain Python script rebuilds the network from the export and predicts the same.
  expect_ok /usr/bin/python3 "$HERE/check_export.py" exported fsml_pred.json
  grep -q "max abs diff" "$T/out" || fail "interop script output"
  expect_fail "exists and is not empty" fsml models export toy/1 exported
}

case_label_issues() {
  setup 1500 0.06
  expect_ok fsml train toy@v1 --model cnn-small --epochs 3 --batch-size 32 --augment none --seed 2
  expect_ok fsml models register 1 --name toy
  expect_ok fsml eval toy/1 toy@v1 --split train --find-label-issues --folds 3 --cv-epochs 4 --json --html issues.html
  cp "$T/out" eval.json
  export_images
  # The truly flipped items: a train image whose folder (given label) differs from its pattern.
  /usr/bin/python3 - eval.json <<'PY' > pr.txt
import json, sys, glob, os
import numpy as np
from PIL import Image
d = json.load(open(sys.argv[1]))
flagged = {x["item"] for x in d["label_issues"]}
truth = {}
for path in glob.glob("export/train/*/*.png"):
    px = np.asarray(Image.open(path)).astype(int)
    bright = px >= 170
    cls = "a" if bright.all(axis=1).any() else "b" if bright.all(axis=0).any() else "c"
    truth[os.path.basename(path)[:-4]] = (os.path.basename(os.path.dirname(path)), cls)
flipped = {i for i, (given, cls) in truth.items() if given != cls}
tp = len(flagged & flipped)
print(f"{tp / max(len(flagged), 1):.3f} {tp / max(len(flipped), 1):.3f} {len(flipped)}")
PY
  read -r precision recall flipped < pr.txt
  (( flipped > 40 )) || fail "the data has only $flipped flipped labels"
  awk -v p="$precision" -v r="$recall" 'BEGIN { exit !(p >= 0.8 && r >= 0.8) }' || fail "label issues: precision $precision recall $recall"
  grep -q 'id="label-issues"' issues.html || fail "report lacks the label issues"
}

case_bad_inputs() {
  trained_model
  expect_fail "no model named 'nope' (models: toy)" fsml eval nope/1 toy@v1
  expect_fail "model 'toy' has no alias 'production' (it has no aliases" fsml predict toy@production x.png
  expect_fail "model 'toy' has no version 7 (versions 1 to 1" fsml models show toy/7
  expect_fail "use NAME/N or NAME@ALIAS, not both" fsml models show toy/1@x
  expect_fail "alias 'v2' is reserved" fsml models alias toy 1 v2
  expect_fail "no run 42" fsml models register 42
  expect_fail "unknown metric" fsml project require toy "speed >= 3"
  expect_fail "unknown label 'z' (project labels: a, b, c)" fsml project require toy "recall[z] >= 0.5"
  # Another project with other labels.
  mkdir -p other && cp data/*.gz other/
  expect_ok fsml import other other --format idx --label-names x,y,z
  expect_ok fsml data commit other -m v1
  expect_fail "model toy/1 and other@v1 have different labels (model: a, b, c; data: x, y, z)" fsml eval toy/1 other@v1
  # Images predict cannot take.
  export_images
  files=(export/test/a/*.png)
  head -c 40 "${files[0]}" > truncated.png
  expect_fail "truncated.png" fsml predict toy/1 truncated.png
  printf 'not an image' > text.png
  expect_fail "text.png" fsml predict toy/1 text.png
  expect_fail "is not a readable file" fsml predict toy/1 missing.png
  /usr/bin/python3 -c "
from PIL import Image
Image.new('RGB', (8, 8), (200, 10, 10)).save('rgb.png')"
  expect_fail "rgb.png has 3 channel(s) (color); the model takes grayscale images (1 channel)" fsml predict toy/1 rgb.png
  expect_fail "no evaluation 9" fsml eval show 9
  expect_fail "eval: give a model and a dataset version" fsml eval
  # A corrupt artifact: the weights object is damaged on disk.
  key=$(fsml models show toy/1 --json | py "d['weights_sha256']")
  # Small objects live in the packed store: flip a byte of the weights there.
  /usr/bin/python3 - "$key" <<'PY'
import sqlite3, sys
db = sqlite3.connect(".fsml/objects/packed.db")
key = bytes.fromhex(sys.argv[1])
data, = db.execute("SELECT data FROM objects WHERE key = ?", (key,)).fetchone()
db.execute("UPDATE objects SET data = ? WHERE key = ?", (data[:100] + bytes([data[100] ^ 1]) + data[101:], key))
db.commit()
PY
  expect_fail "model toy/1: weights object $key" fsml predict toy/1 "${files[0]}"
  grep -q "does not match its hash" "$T/err" || fail "corruption message does not name the hash check: $(cat "$T/err")"
}

run_case "$@"
