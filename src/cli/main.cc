// fsml: the whole ML product loop in one program. This file only builds the
// command tree and dispatches; each command group lives in its own file.
#include <cstdio>

#include "cli/common.h"
#include "core/version.h"


int main(int argc, char** argv) {
  fsml::cli::Context ctx;
  CLI::App app{"fsml: crawl, label, version, train, evaluate, register and serve ML models, in one program.",
               "fsml"};
  app.set_version_flag("--version", std::string("fsml ") + fsml::kVersion + " (" + fsml::kCodeVersion + ")");
  app.add_option("-w,--workspace", ctx.workspace, "workspace folder (default: $FSML_WORKSPACE, or the nearest folder with fsml.toml)");
  app.add_flag("-q,--quiet", ctx.quiet, "no progress output");
  app.require_subcommand(1);
  app.footer("Run 'fsml COMMAND --help' for a command's options.");

  fsml::cli::RegisterWorkspaceCommands(app, ctx);
  fsml::cli::RegisterProjectCommands(app, ctx);
  fsml::cli::RegisterImportCommand(app, ctx);
  fsml::cli::RegisterDataCommands(app, ctx);
  fsml::cli::RegisterTrainCommands(app, ctx);
  fsml::cli::RegisterModelCommands(app, ctx);
  fsml::cli::RegisterEvalCommands(app, ctx);
  fsml::cli::RegisterServeCommands(app, ctx);
  fsml::cli::RegisterStoreCommands(app, ctx);
  fsml::cli::RegisterCrawlCommands(app, ctx);
  fsml::cli::RegisterUserCommands(app, ctx);

  if (argc == 1) {
    std::printf("%s", app.help().c_str());
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "fsml: error: %s\n", e.what());
    std::fprintf(stderr, "Run 'fsml --help' for the list of commands.\n");
    return 2;
  }
  return ctx.exit_code;
}
