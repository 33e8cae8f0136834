#!/usr/bin/env bash
# End-to-end tests of `fsml serve` on the embedded queue: the HTTP API,
# dynamic batching, jobs, alias swaps under load, slow and idle clients,
# restarts with jobs in flight, and bad input. Each case is one function.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"

case_predict_api() {
  serve_setup
  start_server || return
  local want; want=$(fsml predict toy@production "$PNG" --json | py 'd[0]["predictions"][0]["label"] if isinstance(d, list) else d["predictions"][0]["label"]')
  expect_status 200 "" POST "/api/v1/models/toy@production/predict?top_k=2" -H "Content-Type: image/png" --data-binary "@$PNG"
  expect_eq "$(py 'd["model"]' < "$T/body")" "toy/1" "model"
  expect_eq "$(py 'len(d["predictions"])' < "$T/body")" "2" "top_k"
  expect_eq "$(py 'd["predictions"][0]["label"]' < "$T/body")" "$want" "same label as fsml predict"
  expect_status 200 "" POST /api/v1/models/toy/1/predict -H "Content-Type: application/json" \
    -d "{\"image_base64\": \"$(base64 -w0 "$PNG")\"}"
  expect_eq "$(py 'd["predictions"][0]["label"]' < "$T/body")" "$want" "JSON body"
  expect_status 200 "" POST /api/v1/models/toy/predict -F "image=@$PNG;type=image/png"
  expect_eq "$(py 'd["predictions"][0]["label"]' < "$T/body")" "$want" "multipart body"
  expect_status 200 "" GET /api/v1/openapi.json
  expect_eq "$(py 'd["openapi"][:2]' < "$T/body")" "3." "openapi"
  expect_status 200 "" GET /api/v1/models
  expect_eq "$(py 'd["served"]["toy@production"]' < "$T/body")" "toy/1" "served"
  # Errors: JSON, with the right status and code.
  expect_status 404 not_found POST /api/v1/models/nope/predict -H "Content-Type: image/png" --data-binary "@$PNG"
  expect_status 404 not_found POST /api/v1/models/toy@staging/predict -H "Content-Type: image/png" --data-binary "@$PNG"
  expect_status 404 not_found POST /api/v1/models/toy/9/predict -H "Content-Type: image/png" --data-binary "@$PNG"
  expect_status 400 invalid_argument POST "/api/v1/models/toy/predict" -H "Content-Type: image/png" --data-binary "not an image"
  expect_status 400 invalid_argument POST "/api/v1/models/toy/predict?top_k=0" -H "Content-Type: image/png" --data-binary "@$PNG"
  expect_status 400 invalid_argument POST "/api/v1/models/bad%20name/predict" -H "Content-Type: image/png" --data-binary "@$PNG"
  expect_status 400 invalid_argument POST /api/v1/models/toy/predict -H "Content-Type: application/json" -d '{"image_base64": '
  expect_status 400 invalid_argument POST /api/v1/models/toy/predict -H "Content-Type: application/json" -d '{"text": "a shoe"}'
  expect_status 415 unsupported_media_type POST /api/v1/models/toy/predict -H "Content-Type: text/plain" -d 'x'
  expect_status 405 method_not_allowed DELETE /api/v1/jobs
  expect_status 404 not_found GET /api/v2/anything
  # Authentication on every /api/v1 route; health and metrics stay open.
  expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/models")" "401" "no token"
  expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer fsml_0000000000000000000000000000000000000000' "$URL/api/v1/openapi.json")" "401" "wrong token"
  curl -s "$URL/metrics" > "$T/metrics"
  grep -q '^fsml_http_requests_total{route="POST /api/v1/models/{ref}/predict",code="200"} 2$' "$T/metrics" || fail "request counter: $(grep requests_total "$T/metrics")"
  grep -q '^fsml_predict_batch_size_count ' "$T/metrics" || fail "batch size histogram missing"
  grep -q '^fsml_model_load_seconds_count{model="toy/1"} ' "$T/metrics" || fail "model load time missing"
  grep -q '^fsml_jobs{state="queued"} 0$' "$T/metrics" || fail "jobs by state missing"
  stop_server || fail "server did not stop cleanly"
  grep -q '"route":"POST /api/v1/models/{ref}/predict","status":200' "$T/access.log" || fail "access log lines missing"
  grep -q '"user":"tests"' "$T/access.log" || fail "access log names the token"
}

case_body_limit_and_timeouts() {
  serve_setup
  start_server --max-body-bytes 4096 --request-timeout-ms 2000 || return
  head -c 10000 /dev/urandom > big.bin
  expect_status 413 payload_too_large POST /api/v1/models/toy/predict -H "Content-Type: image/png" --data-binary @big.bin
  # A client sending a byte a second is cut off; the others are served meanwhile.
  $CLIENT slow "$URL" > slow.out &
  local slow=$!
  sleep 1
  $CLIENT load "$URL" "$TOKEN" toy@production "$PNG" 2 4 > load.json
  wait $slow
  grep -q answered slow.out && fail "a slow client's request was answered: $(cat slow.out)"
  awk '{ exit !($1 < 30) }' slow.out || fail "slow client not cut off: $(cat slow.out)"
  expect_eq "$(py 'd["ok"] > 0 and list(d["statuses"]) == ["200"]' < load.json)" "True" "requests during a slow client: $(cat load.json)"
  # Hundreds of idle keep-alive connections do not starve an active one.
  $CLIENT idle "$URL" 300 "$TOKEN" toy@production "$PNG" > idle.json || fail "predicts with 300 idle connections: $(cat idle.json)"
  expect_eq "$(py 'd["idle"]' < idle.json)" "300" "idle connections"
  stop_server || fail "server did not stop cleanly"
}

case_jobs_embedded() {
  serve_setup
  start_server || return
  local b64; b64=$(base64 -w0 "$PNG")
  local job="{\"model\": \"toy@production\", \"inputs\": [{\"image_base64\": \"$b64\"}, {\"text\": \"x\"}], \"idempotency_key\": \"k1\", \"top_k\": 2}"
  expect_status 202 "" POST /api/v1/jobs -H "Content-Type: application/json" -d "$job"
  local id; id=$(py 'd["id"]' < "$T/body")
  expect_eq "$(py 'd["state"]' < "$T/body")" "queued" "state on submit"
  expect_status 200 "" POST /api/v1/jobs -H "Content-Type: application/json" -d "$job"
  expect_eq "$(py 'd["id"]' < "$T/body")" "$id" "idempotency key gives the same job"
  $CLIENT wait "$URL" "$TOKEN" succeeded 1 30 > /dev/null || fail "job did not succeed"
  expect_status 200 "" GET "/api/v1/jobs/$id"
  expect_eq "$(py 'd["state"], d["attempts"], d["model"], len(d["results"]), len(d["results"][0]["predictions"])' < "$T/body")" \
    "succeeded 1 toy/1 2 2" "job result"
  expect_eq "$(py 'd["results"][1]["error"]["code"]' < "$T/body")" "invalid_argument" "text input error"
  # A job for a model that does not exist fails with a reason.
  expect_status 202 "" POST /api/v1/jobs -H "Content-Type: application/json" -d "{\"model\": \"ghost\", \"inputs\": [{\"text\": \"x\"}]}"
  local ghost; ghost=$(py 'd["id"]' < "$T/body")
  $CLIENT wait "$URL" "$TOKEN" failed 1 30 > /dev/null || fail "ghost job did not fail"
  expect_status 200 "" GET "/api/v1/jobs/$ghost"
  expect_eq "$(py 'd["state"], d["error"]["code"]' < "$T/body")" "failed not_found" "ghost job"
  expect_status 200 "" GET "/api/v1/jobs?state=succeeded&limit=10"
  expect_eq "$(py 'd["total"], d["jobs"][0]["id"]' < "$T/body")" "1 $id" "list by state"
  expect_status 400 invalid_argument GET "/api/v1/jobs?state=bogus"
  expect_status 404 not_found GET /api/v1/jobs/job_nope
  expect_status 400 invalid_argument POST /api/v1/jobs -H "Content-Type: application/json" -d '{"model": "toy", "inputs": []}'
  expect_status 400 invalid_argument POST /api/v1/jobs -H "Content-Type: application/json" -d '[1, 2'
  expect_status 415 unsupported_media_type POST /api/v1/jobs -H "Content-Type: text/plain" -d 'x'
  stop_server || fail "server did not stop cleanly"
}

case_restart_with_jobs_in_flight() {
  serve_setup
  # No workers: the jobs wait in the queue when the server is killed.
  start_server --workers 0 || return
  $CLIENT submit "$URL" "$TOKEN" toy@production "$PNG" 40 > ids.txt || fail "submit"
  expect_eq "$(wc -l < ids.txt)" "40" "accepted jobs"
  kill -9 "$SPID"; wait "$SPID" 2>/dev/null; SPID=""
  start_server --workers 1 || return
  $CLIENT wait "$URL" "$TOKEN" succeeded 40 60 > /dev/null || fail "jobs accepted before kill -9 did not all finish"
  local id bad=0
  while read -r id; do
    api GET "/api/v1/jobs/$id" > /dev/null
    [[ $(py 'd["state"], len(d["results"])' < "$T/body") == "succeeded 1" ]] || bad=$((bad + 1))
  done < ids.txt
  expect_eq "$bad" "0" "jobs without exactly one result"
  stop_server || fail "server did not stop cleanly"
}

case_alias_swap_under_load() {
  serve_setup
  fsml train toy@v1 --model mlp --epochs 1 --batch-size 32 --seed 2 > /dev/null || fail "train 2"
  fsml models register 2 --name toy > /dev/null || fail "register 2"
  start_server || return
  $CLIENT load "$URL" "$TOKEN" toy@production "$PNG" 6 8 > load.json &
  local load=$!
  sleep 2
  fsml models alias toy 2 production --force > /dev/null || fail "move alias"
  wait $load
  expect_eq "$(py 'list(d["statuses"])' < load.json)" "['200']" "statuses during the swap: $(cat load.json)"
  expect_eq "$(py 'sorted(d["models"])' < load.json)" "['toy/1', 'toy/2']" "both versions answered"
  expect_status 200 "" POST /api/v1/models/toy@production/predict -H "Content-Type: image/png" --data-binary "@$PNG"
  expect_eq "$(py 'd["model"]' < "$T/body")" "toy/2" "after the swap"
  curl -s "$URL/metrics" | grep -q '^fsml_model_swaps_total{ref="toy@production"} 1$' || fail "swap not counted"
  # Removing the alias stops serving it.
  fsml models unalias toy production > /dev/null || fail "unalias"
  sleep 2.5
  expect_status 404 not_found POST /api/v1/models/toy@production/predict -H "Content-Type: image/png" --data-binary "@$PNG"
  stop_server || fail "server did not stop cleanly"
}

case_bad_cli_input() {
  serve_setup
  expect_fail "not host:port" fsml serve --listen nonsense
  expect_fail "expected \"embedded\" or amqp://" fsml serve --listen 127.0.0.1:0 --queue ftp://x
  expect_fail "cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:1/" fsml serve --listen 127.0.0.1:0 --queue amqp://guest:hunter2@127.0.0.1:1/
  grep -q hunter2 "$T/err" && fail "password printed: $(cat "$T/err")"
  expect_fail "cannot reach RabbitMQ" fsml worker --queue amqp://guest:guest@127.0.0.1:1/
  expect_fail "a token named 'tests' exists" fsml token create tests
  expect_fail "may contain only" fsml token create "no spaces"
  expect_fail "no token named 'nope'" fsml token revoke nope
  expect_fail "--max-batch must be 1 to 1024" fsml serve --listen 127.0.0.1:0 --max-batch 0
  expect_ok fsml models serving toy --max-batch 8 --max-delay-ms 1
  grep -q "max_batch 8, max_delay_ms 1" "$T/out" || fail "models serving: $(cat "$T/out")"
  expect_fail "max batch must be 1 to 1024" fsml models serving toy --max-batch 5000
  expect_fail "no model 'ghost'" fsml models serving ghost --max-batch 4
  # The port is taken: a clear error.
  start_server || return
  expect_fail "cannot listen on ${URL#http://}" fsml serve --listen "${URL#http://}"
  stop_server || fail "server did not stop cleanly"
}

run_case "$@"
