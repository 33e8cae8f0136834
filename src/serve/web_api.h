// The web app's API (docs/web-api.md): login and sessions, users, projects,
// uploads, labeling, review, agreement and dataset versions, and the web
// app's own files at "/".
#pragma once

#include <memory>

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
  void AddRoutes(http::Router& router);
  // Starts and stops the background work: model suggestions for open items
  // (active learning) and retraining.
  void Start();
  void Stop();

 private:
  void AddAuthRoutes(http::Router& router);
  void AddUserRoutes(http::Router& router);
  void AddProjectRoutes(http::Router& router);
  void AddLabelingRoutes(http::Router& router);
  void AddVersionRoutes(http::Router& router);
  void AddStaticRoutes(http::Router& router);
  void AddModelLoopRoutes(http::Router& router);

  Workspace& ws_;
  AccessControl& access_;
  WebApiOptions options_;
  LabelingService labeling_;
  SuggestionScorer scorer_;
  Retrainer retrainer_;
};

}  // namespace fsml
