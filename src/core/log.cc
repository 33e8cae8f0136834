#include "core/log.h"

#include <atomic>
#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace fsml::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("fsml");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    l->set_level(spdlog::level::trace);  // our own g_level filters first
    return l;
  }();
  return *logger;
}

}  // namespace

bool SetLevel(std::string_view level) {
  if (level == "debug") g_level = Level::kDebug;
  else if (level == "info") g_level = Level::kInfo;
  else if (level == "warn") g_level = Level::kWarn;
  else if (level == "error") g_level = Level::kError;
  else return false;
  return true;
}

bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void Write(Level level, std::string_view message) {
  switch (level) {
    case Level::kDebug: Logger().debug("{}", message); break;
    case Level::kInfo: Logger().info("{}", message); break;
    case Level::kWarn: Logger().warn("{}", message); break;
    case Level::kError: Logger().error("{}", message); break;
  }
}

}  // namespace fsml::log
