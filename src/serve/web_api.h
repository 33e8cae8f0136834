// The web app's API (docs/web-api.md): login and sessions, users, projects,
// uploads, labeling, review, agreement and dataset versions, and the web
// app's own files at "/".
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "data/workspace.h"
#include "label/labeling.h"
#include "serve/auth.h"
#include "serve/http.h"
#include "serve/retrain.h"
#include "serve/suggestions.h"

namespace fsml {

struct WebApiOptions {
  bool secure_cookies = false;  // add Secure to the session cookie (behind TLS)
  LabelingOptions labeling;
};

class WebApi {
 public:
  WebApi(Workspace& ws, AccessControl& access, WebApiOptions options);
  ~WebApi();  // Stop()s
  void AddRoutes(http::Router& router);
  // Starts and stops the background work: the labeling queues' task sync
  // and open counts (every `labeling.sync_interval`, so that next-item calls
  // never count a large project), model suggestions for open items (active
  // learning) and retraining. Stop() is idempotent.
  void Start();
  void Stop();
  // The labeling queues, for the other APIs that send items to review.
  LabelingService& labeling() { return labeling_; }

 private:
  void AddAuthRoutes(http::Router& router);
  void AddUserRoutes(http::Router& router);
  void AddProjectRoutes(http::Router& router);
  void AddLabelingRoutes(http::Router& router);
  void AddVersionRoutes(http::Router& router);
  void AddStaticRoutes(http::Router& router);
  void AddModelLoopRoutes(http::Router& router);
  void RefreshLoop();

  Workspace& ws_;
  AccessControl& access_;
  WebApiOptions options_;
  LabelingService labeling_;
  SuggestionScorer scorer_;
  Retrainer retrainer_;
  std::mutex refresh_mu_;
  std::condition_variable refresh_cv_;
  bool refresh_stop_ = false;  // GUARDED_BY(refresh_mu_)
  std::thread refresher_;
};

}  // namespace fsml
