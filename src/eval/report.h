// The evaluation report: one self-contained HTML file (inline CSS and SVG,
// images as data: URIs, no scripts fetched, no server) that opens in any
// browser: headline metrics, requirement pass/fail, confusion-matrix heat
// map, reliability diagram, per-class precision/recall/F1 bars, the most
// confident mistakes and the suspected label errors with thumbnails.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/metrics.h"
#include "eval/requirements.h"

namespace fsml::eval {

// One item shown with its thumbnail.
struct ReportItem {
  std::string item_id;     // hex object id
  std::string media_type;  // "image/png" or "image/jpeg"; "" when the item is text
  std::string content;     // the image bytes, or the text (shown escaped, cut to 300 chars)
  std::string given;       // label name
  std::string predicted;   // label name
  double confidence = 0;   // probability of `predicted`
  double score = 0;        // label-issue score (only for label issues)
};

struct ReportInput {
  int64_t evaluation_id = 0;
  std::string model;       // "fashion/2"
  std::string dataset;     // "fashion@v1"
  std::string split;       // "test"
  std::string created_at;  // ISO 8601
  double seconds = 0;      // wall time of the evaluation
  Metrics metrics;
  std::vector<RequirementResult> requirements;
  std::vector<ReportItem> worst_errors;  // most confident mistakes, worst first
  std::vector<ReportItem> label_issues;  // suspected label errors, most likely first (may be empty)
};

// Every user-supplied string (labels, ids, model names, text items) is
// HTML-escaped; image bytes are embedded only when media_type is image/png or
// image/jpeg.
std::string RenderReport(const ReportInput& input);

}  // namespace fsml::eval
