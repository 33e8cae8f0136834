// Logging to stderr through spdlog. Messages are for operators; command
// results go to stdout. Thread-safe.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace fsml::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error"; anything else leaves the level unchanged
// and returns false.
bool SetLevel(std::string_view level);
bool Enabled(Level level);
void Write(Level level, std::string_view message);

template <typename... A>
void Debug(fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Info(fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Warn(fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Error(fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kError)) Write(Level::kError, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace fsml::log
