#!/usr/bin/env bash
# Integration tests of serving with RabbitMQ: fsml serve and fsml worker in
# separate processes on a real broker started by scripts/services.sh
# (FSML_SERVICES_DIR and FSML_RABBITMQ_PORT say which one). Faults: a worker
# killed mid-job, the broker restarted under load, poison jobs dead-lettered;
# and a worker in Python (pika) serving the same queue.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$ROOT/tests/e2e/lib.sh"
source "$ROOT/tests/e2e/serve_lib.sh"
AMQP=$("$ROOT/scripts/services.sh" url rabbitmq)
"$ROOT/scripts/services.sh" status rabbitmq > /dev/null || { echo "RabbitMQ is not running: scripts/services.sh start rabbitmq" >&2; exit 1; }


start_worker() {  # start_worker [ARGS...]: appends the pid to WORKERS, sets WPID
  "$FSML" worker --queue "$AMQP" "$@" >> "$T/worker.out" 2>> "$T/worker.err" &
  WPID=$!
  WORKERS+=("$WPID")
  sleep 1.5  # connected and consuming (the model loads on the first job)
}

# Every id in the file is succeeded with exactly one result per input.
expect_all_succeeded() {
  local file=$1 id bad=0
  while read -r id; do
    api GET "/api/v1/jobs/$id" > /dev/null
    [[ $(py 'd["state"], len(d["results"]), "predictions" in d["results"][0]' < "$T/body") == "succeeded 1 True" ]] ||
      { bad=$((bad + 1)); echo "  $(cat "$T/body")" >&2; }
  done < "$file"
  expect_eq "$bad" "0" "jobs not succeeded exactly once"
}

case_worker_kill9_mid_job() {
  serve_setup; purge_queues "$AMQP"
  start_server --queue "$AMQP" --workers 0 || return
  start_worker --hold-ms-for-test 5000
  local victim=$WPID
  $CLIENT submit "$URL" "$TOKEN" toy@production "$PNG" 20 > ids.txt || fail "submit"
  sleep 2  # the worker holds all 20, inference done, results not yet published
  kill -9 "$victim"
  start_worker
  $CLIENT wait "$URL" "$TOKEN" succeeded 20 60 > /dev/null || fail "jobs of the killed worker were not redelivered"
  expect_all_succeeded ids.txt
  api GET "/api/v1/jobs/$(head -1 ids.txt)" > /dev/null
  expect_eq "$(py 'd["attempts"], d["worker"].endswith("/'"$WPID"'")' < "$T/body")" "2 True" "attempts and worker"
  curl -s "$URL/metrics" | grep -q '^fsml_jobs{state="succeeded"} 20$' || fail "metrics: $(curl -s "$URL/metrics" | grep fsml_jobs)"
  stop_server || fail "server did not stop cleanly"
}

case_broker_restart_under_load() {
  serve_setup; purge_queues "$AMQP"
  start_server --queue "$AMQP" --workers 0 || return
  start_worker
  $CLIENT submit "$URL" "$TOKEN" toy@production "$PNG" 300 restart > ids.txt 2> submit.err &
  local submitter=$!
  sleep 1
  "$ROOT/scripts/services.sh" restart rabbitmq > /dev/null 2>&1 || fail "broker restart"
  wait $submitter || fail "submitter"
  expect_eq "$(wc -l < ids.txt)" "300" "accepted jobs"
  $CLIENT wait "$URL" "$TOKEN" succeeded 300 120 > /dev/null || fail "not all accepted jobs finished after the broker restart"
  expect_all_succeeded ids.txt
  grep -q "queue reachable again" "$T/worker.err" || fail "worker did not report reconnecting: $(tail -3 "$T/worker.err")"
  stop_server || fail "server did not stop cleanly"
}

case_poison_job_is_dead_lettered() {
  serve_setup; purge_queues "$AMQP"
  start_server --queue "$AMQP" --workers 0 || return
  $CLIENT submit "$URL" "$TOKEN" toy@production "$PNG" 1 > ids.txt || fail "submit"
  # Every worker that takes the job dies before finishing it.
  for _ in 1 2 3 4 5; do
    start_worker --hold-ms-for-test 10000
    sleep 1
    kill -9 "$WPID"
  done
  $CLIENT wait "$URL" "$TOKEN" dead 1 30 > /dev/null || fail "job not dead-lettered"
  api GET "/api/v1/jobs/$(cat ids.txt)" > /dev/null
  expect_eq "$(py 'd["state"], d["error"]["code"], d["attempts"]' < "$T/body")" "dead dead 5" "dead job"
  stop_server || fail "server did not stop cleanly"
}

case_python_pika_worker() {
  serve_setup; purge_queues "$AMQP"
  start_server --queue "$AMQP" --workers 0 || return
  fsml models export toy@production export > /dev/null || fail "export"
  /usr/bin/python3 "$ROOT/tests/integration/pika_worker.py" "$AMQP" export --max-jobs 3 > pika.out 2>&1 &
  local pika=$!
  $CLIENT submit "$URL" "$TOKEN" toy@production "$PNG" 3 > ids.txt || fail "submit"
  $CLIENT wait "$URL" "$TOKEN" succeeded 3 60 > /dev/null || { fail "the Python worker did not finish the jobs"; cat pika.out >&2; }
  wait $pika || fail "pika worker exit: $(cat pika.out)"
  expect_all_succeeded ids.txt
  local want; want=$(fsml predict toy@production "$PNG" --json | py 'd[0]["predictions"][0]["label"] if isinstance(d, list) else d["predictions"][0]["label"]')
  api GET "/api/v1/jobs/$(head -1 ids.txt)" > /dev/null
  expect_eq "$(py 'd["results"][0]["predictions"][0]["label"], d["model"]' < "$T/body")" "$want toy/1" "Python worker's answer"
  stop_server || fail "server did not stop cleanly"
}

run_case "$@"
