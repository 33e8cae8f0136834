// fsml serve, fsml worker, fsml token.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "cli/common.h"
#include "serve/api.h"
#include "serve/auth.h"
#include "serve/jobs.h"

namespace fsml::cli {

namespace {

// Blocks SIGINT and SIGTERM in every thread started after this call; the
// caller then waits for them with WaitForStopSignal().
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int WaitForStopSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

Result<int> IntConfig(const Workspace& ws, const char* key) {
  FSML_ASSIGN_OR_RETURN(int64_t n, ws.config().GetInt(key));
  if (n < INT32_MIN || n > INT32_MAX) return Err(InvalidArgument(std::string(key) + " '" + ws.config().Get(key) + "' is out of range"));
  return static_cast<int>(n);
}

}  // namespace

void RegisterServeCommands(CLI::App& app, Context& ctx) {
  {
    struct Flags {
      std::string listen, queue, access_log = "-";
      int workers = -1, max_batch = -1, max_delay_ms = -1, inference_threads = 0, network_threads = 2;
      int request_timeout_ms = 10000, idle_timeout_ms = 60000;
      int64_t max_body_bytes = 0;
      bool secure_cookies = false;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = app.add_subcommand("serve", "serve the HTTP API: synchronous predict with dynamic batching, and jobs through the queue");
    cmd->add_option("--listen", f->listen, "host:port (default: [server] listen, 127.0.0.1:8080)");
    cmd->add_option("--queue", f->queue, "job queue: embedded or amqp://user:pass@host:port/vhost (default: [queue] url)");
    cmd->add_option("--workers", f->workers, "job workers in this process (default: [server] workers)");
    cmd->add_option("--max-batch", f->max_batch, "dynamic batching: most requests per forward pass (default: [server] max_batch)");
    cmd->add_option("--max-delay-ms", f->max_delay_ms, "dynamic batching: longest wait for a batch to fill (default: [server] max_delay_ms)");
    cmd->add_option("--inference-threads", f->inference_threads, "threads running models (default: all cores)");
    cmd->add_option("--network-threads", f->network_threads, "threads handling connections (default 2)");
    cmd->add_option("--request-timeout-ms", f->request_timeout_ms, "time a client has to send a whole request (default 10000)");
    cmd->add_option("--idle-timeout-ms", f->idle_timeout_ms, "keep-alive connections idle longer are closed (default 60000)");
    cmd->add_option("--max-body-bytes", f->max_body_bytes, "largest request body (default: [server] max_body_bytes)");
    cmd->add_option("--access-log", f->access_log, "access log: a file, '-' for stderr (default) or 'off'");
    cmd->add_flag("--secure-cookies", f->secure_cookies, "mark the session cookie Secure (when a TLS proxy is in front)");
    cmd->callback([&ctx, f] {
      Run(ctx, [&]() -> Status {
        sigset_t signals = BlockStopSignals();
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        ServeOptions o;
        o.http.listen = f->listen.empty() ? ws->config().Get("server.listen") : f->listen;
        o.http.network_threads = std::max(1, f->network_threads);
        o.http.request_timeout = std::chrono::milliseconds(f->request_timeout_ms);
        o.http.idle_timeout = std::chrono::milliseconds(f->idle_timeout_ms);
        FSML_ASSIGN_OR_RETURN(int max_body, IntConfig(*ws, "server.max_body_bytes"));
        o.http.max_body_bytes = static_cast<size_t>(f->max_body_bytes > 0 ? f->max_body_bytes : max_body);
        o.queue_url = f->queue.empty() ? ws->config().Get("queue.url") : f->queue;
        FSML_ASSIGN_OR_RETURN(o.queue.max_attempts, IntConfig(*ws, "queue.max_attempts"));
        FSML_ASSIGN_OR_RETURN(int workers, IntConfig(*ws, "server.workers"));
        o.workers = f->workers >= 0 ? f->workers : workers;
        FSML_ASSIGN_OR_RETURN(int max_batch, IntConfig(*ws, "server.max_batch"));
        FSML_ASSIGN_OR_RETURN(int max_delay, IntConfig(*ws, "server.max_delay_ms"));
        o.serving.max_batch = f->max_batch != -1 ? f->max_batch : max_batch;
        o.serving.max_delay_ms = f->max_delay_ms != -1 ? f->max_delay_ms : max_delay;
        if (o.serving.max_batch < 1 || o.serving.max_batch > 1024) return InvalidArgument("--max-batch must be 1 to 1024");
        if (o.serving.max_delay_ms < 0 || o.serving.max_delay_ms > 1000) return InvalidArgument("--max-delay-ms must be 0 to 1000");
        int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        o.serving.inference_threads = f->inference_threads > 0 ? f->inference_threads : cores;
        o.access_log = f->access_log;
        o.web.secure_cookies = f->secure_cookies;
        FSML_ASSIGN_OR_RETURN(auto admin_password, EnsureAdminUser(ws->meta()));
        ServeApp app(*ws, o);
        FSML_RETURN_IF_ERROR(app.Start());
        if (admin_password)
          std::cerr << "fsml: first run: created user 'admin' with the one-time password " << *admin_password
                    << "\n      (shown only now; log in and change it, or: fsml user passwd admin)\n";
        std::cerr << "fsml: serving http://" << app.address() << " (queue " << MaskUrl(o.queue_url) << ", " << o.workers
                  << " worker" << (o.workers == 1 ? "" : "s") << ", batching up to " << o.serving.max_batch << " within "
                  << o.serving.max_delay_ms << " ms); Ctrl-C stops\n";
        std::cout << "listening on http://" << app.address() << std::endl;
        int sig = WaitForStopSignal(signals);
        std::cerr << "fsml: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": draining requests and stopping\n";
        app.Stop();
        std::cerr << "fsml: stopped\n";
        return Status::Ok();
      });
    });
  }
  {
    struct Flags {
      std::string queue;
      int threads = 1, prefetch = 64, max_batch = 64, hold_ms = 0;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = app.add_subcommand("worker", "run job workers: consume the queue, run models, publish results");
    cmd->add_option("--queue", f->queue, "job queue: amqp://user:pass@host:port/vhost or embedded (default: [queue] url)");
    cmd->add_option("--threads", f->threads, "worker threads, each with its own connection (default 1)");
    cmd->add_option("--prefetch", f->prefetch, "messages taken at once per thread (default 64)");
    cmd->add_option("--max-batch", f->max_batch, "images per forward pass (default 64)");
    cmd->add_option("--hold-ms-for-test", f->hold_ms, "pause after inference, before results (fault tests)")->group("");
    cmd->callback([&ctx, f] {
      Run(ctx, [&]() -> Status {
        sigset_t signals = BlockStopSignals();
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        std::string url = f->queue.empty() ? ws->config().Get("queue.url") : f->queue;
        QueueOptions qo;
        FSML_ASSIGN_OR_RETURN(qo.max_attempts, IntConfig(*ws, "queue.max_attempts"));
        qo.prefetch = f->prefetch;
        if (f->threads < 1 || f->threads > 64) return InvalidArgument("--threads must be 1 to 64");
        if (f->prefetch < 1 || f->prefetch > 10000) return InvalidArgument("--prefetch must be 1 to 10000");
        ModelCache cache(1);
        WorkerOptions wo;
        wo.prefetch = f->prefetch;
        wo.max_batch = f->max_batch;
        wo.hold_ms_for_test = f->hold_ms;
        std::vector<std::unique_ptr<JobQueue>> queues;
        for (int i = 0; i < f->threads; ++i) {
          FSML_ASSIGN_OR_RETURN(auto q, OpenJobQueue(url, ws->meta(), qo));
          FSML_RETURN_IF_ERROR(StatusOf(q->Depth(kJobsQueue)));  // fail fast on a wrong URL or login
          queues.push_back(std::move(q));
        }
        std::atomic<bool> stop{false};
        std::vector<std::thread> threads;
        for (auto& q : queues) {
          auto w = std::make_shared<Worker>(*ws, std::move(q), cache, wo, nullptr);
          threads.emplace_back([w, &stop] { w->Run(stop); });
        }
        std::cerr << "fsml: worker " << DefaultWorkerName() << " consuming " << kJobsQueue << " on " << MaskUrl(url) << " with "
                  << f->threads << " thread" << (f->threads == 1 ? "" : "s") << "; Ctrl-C stops\n";
        WaitForStopSignal(signals);
        std::cerr << "fsml: worker stopping after its current batch\n";
        stop = true;
        for (auto& t : threads) t.join();
        return Status::Ok();
      });
    });
  }
  {
    CLI::App* token = app.add_subcommand("token", "API tokens for scripts and services: create, list, revoke");
    token->require_subcommand(1);
    {
      auto name = std::make_shared<std::string>();
      auto user = std::make_shared<std::string>();
      auto role = std::make_shared<std::string>("viewer");
      auto* cmd = token->add_subcommand("create", "create a token; it is printed once, alone on the last line");
      cmd->add_option("NAME", *name, "what the token is for, e.g. ci or billing-service")->required();
      auto* user_opt = cmd->add_option("--user", *user, "the token acts as this user, with their role");
      cmd->add_option("--role", *role, "a service token's role: viewer (default: read and predict), annotator, reviewer or admin")
          ->excludes(user_opt);
      cmd->callback([&ctx, name, user, role] {
        Run(ctx, [&]() -> Status {
          FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
          FSML_ASSIGN_OR_RETURN(auto parsed_role, http::ParseRole(*role));
          FSML_ASSIGN_OR_RETURN(std::string secret, CreateApiToken(ws->meta(), *name, ws->user(), *user, parsed_role));
          std::cerr << "fsml: token '" << *name << "' created; it is shown only now. Use it as 'Authorization: Bearer TOKEN'.\n";
          std::cout << secret << "\n";
          return Status::Ok();
        });
      });
    }
    {
      auto* cmd = token->add_subcommand("list", "list tokens (names and dates; secrets are not stored)");
      cmd->callback([&ctx] {
        Run(ctx, [&]() -> Status {
          FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
          FSML_ASSIGN_OR_RETURN(auto tokens, ListApiTokens(ws->meta()));
          std::vector<std::vector<std::string>> rows = {{"NAME", "ACTS AS", "ROLE", "CREATED", "BY", "LAST USED"}};
          for (const auto& t : tokens)
            rows.push_back({t.name, t.user.empty() ? "(service)" : t.user, std::string(http::RoleName(t.role)), t.created_at,
                            t.created_by, t.last_used_at.empty() ? "-" : t.last_used_at});
          PrintTable(rows);
          return Status::Ok();
        });
      });
    }
    {
      auto name = std::make_shared<std::string>();
      auto* cmd = token->add_subcommand("revoke", "revoke a token (servers stop accepting it within 5 s)");
      cmd->add_option("NAME", *name, "token name")->required();
      cmd->callback([&ctx, name] {
        Run(ctx, [&]() -> Status {
          FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
          FSML_RETURN_IF_ERROR(RevokeApiToken(ws->meta(), *name));
          std::cout << "revoked token '" << *name << "'\n";
          return Status::Ok();
        });
      });
    }
  }
}

}  // namespace fsml::cli
