// What every command file shares: global options, opening the workspace,
// printing errors and tables. Each command group lives in its own file and
// registers its subcommands on the root app.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "data/workspace.h"

namespace fsml::cli {

struct Context {
  std::optional<std::string> workspace;  // --workspace
  bool quiet = false;                    // --quiet: no progress output
  int exit_code = 0;
};

// Opens the workspace from --workspace, $FSML_WORKSPACE or the current folder.
Result<std::unique_ptr<Workspace>> OpenWorkspace(const Context& ctx);

// Runs `body`, turning a failed Status into "fsml: error: ..." on stderr and
// exit code 1.
void Run(Context& ctx, const std::function<Status()>& body);

void PrintJson(const nlohmann::json& j);
// "0.9231" with `digits` decimals; "12.3 s", "4.5 min", "1.2 h".
std::string Fixed(double v, int digits);
std::string Duration(double seconds);
// Prints rows as aligned columns; the first row is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// The import command's work, shared with quickstart: creates the project
// first for fashion-mnist (ten classes) and idx with label names, then imports
// and prints a summary.
struct ImportRequest {
  std::string project;
  std::string source;  // "" = the format's default (fashion-mnist only)
  std::string format;  // "" = guessed from the source
  std::string label_names;
  bool skip_duplicates = false;
};
Status ImportAndReport(Workspace& ws, const ImportRequest& req);

void RegisterWorkspaceCommands(CLI::App& app, Context& ctx);  // init, quickstart, doctor
void RegisterProjectCommands(CLI::App& app, Context& ctx);    // project ...
void RegisterImportCommand(CLI::App& app, Context& ctx);      // import
void RegisterDataCommands(CLI::App& app, Context& ctx);       // data ...
void RegisterTrainCommands(CLI::App& app, Context& ctx);      // train, runs ..., reproduce
void RegisterModelCommands(CLI::App& app, Context& ctx);      // models ...
void RegisterEvalCommands(CLI::App& app, Context& ctx);       // predict, eval ...
void RegisterServeCommands(CLI::App& app, Context& ctx);      // serve, worker, token ...
void RegisterStoreCommands(CLI::App& app, Context& ctx);      // store copy
void RegisterCrawlCommands(CLI::App& app, Context& ctx);      // crawl, crawls
void RegisterUserCommands(CLI::App& app, Context& ctx);       // user ...

}  // namespace fsml::cli
