// fsml user add | list | remove | passwd | role
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "cli/common.h"
#include "core/fs.h"
#include "serve/auth.h"

namespace fsml::cli {

namespace {

// A password from --password-file (its first line), or typed twice at a
// prompt without echo.
Result<std::string> ReadPassword(const std::string& file, const std::string& prompt) {
  if (!file.empty()) {
    FSML_ASSIGN_OR_RETURN(std::string text, ReadFile(file, 4096));
    std::string line = text.substr(0, text.find('\n'));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  if (!isatty(STDIN_FILENO)) return Err(InvalidArgument("no terminal to ask for the password: pass --password-file FILE"));
  auto ask = [](const std::string& what) {
    std::cerr << what << std::flush;
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::string line;
    std::getline(std::cin, line);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
    return line;
  };
  std::string first = ask(prompt);
  if (ask("again: ") != first) return Err(InvalidArgument("the two passwords differ"));
  return first;
}

}  // namespace

void RegisterUserCommands(CLI::App& app, Context& ctx) {
  CLI::App* user = app.add_subcommand("user", "users of the web app and the API, with roles: add, list, remove, passwd, role");
  user->require_subcommand(1);
  {
    struct Flags {
      std::string name, role, password_file;
    };
    auto f = std::make_shared<Flags>();
    auto* cmd = user->add_subcommand("add", "add a user (password from a prompt or --password-file)");
    cmd->add_option("NAME", f->name, "user name: letters, digits, '.', '_', '-'")->required();
    cmd->add_option("--role", f->role, "admin | reviewer | annotator | viewer")->required();
    cmd->add_option("--password-file", f->password_file, "read the password from the first line of this file");
    cmd->callback([&ctx, f] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(auto role, http::ParseRole(f->role));
        FSML_ASSIGN_OR_RETURN(auto password, ReadPassword(f->password_file, "password for " + f->name + ": "));
        FSML_ASSIGN_OR_RETURN(auto u, CreateUser(ws->meta(), f->name, role, password, ws->user()));
        std::cout << "added user '" << u.name << "' (" << http::RoleName(u.role) << ")\n";
        return Status::Ok();
      });
    });
  }
  {
    auto json = std::make_shared<bool>(false);
    auto* cmd = user->add_subcommand("list", "list users and their roles");
    cmd->add_flag("--json", *json, "print JSON");
    cmd->callback([&ctx, json] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(auto users, ListUsers(ws->meta()));
        if (*json) {
          nlohmann::json out = nlohmann::json::array();
          for (const auto& u : users)
            out.push_back({{"name", u.name}, {"role", http::RoleName(u.role)}, {"created_at", u.created_at}, {"created_by", u.created_by}});
          PrintJson(out);
          return Status::Ok();
        }
        std::vector<std::vector<std::string>> rows = {{"NAME", "ROLE", "CREATED", "BY"}};
        for (const auto& u : users) rows.push_back({u.name, std::string(http::RoleName(u.role)), u.created_at, u.created_by});
        PrintTable(rows);
        return Status::Ok();
      });
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto* cmd = user->add_subcommand("remove", "remove a user, their sessions and their tokens (their labels stay)");
    cmd->add_option("NAME", *name, "user name")->required();
    cmd->callback([&ctx, name] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_RETURN_IF_ERROR(RemoveUser(ws->meta(), *name));
        std::cout << "removed user '" << *name << "'\n";
        return Status::Ok();
      });
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    auto* cmd = user->add_subcommand("passwd", "set a user's password (ends their sessions)");
    cmd->add_option("NAME", *name, "user name")->required();
    cmd->add_option("--password-file", *file, "read the password from the first line of this file");
    cmd->callback([&ctx, name, file] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_RETURN_IF_ERROR(StatusOf(GetUser(ws->meta(), *name)));
        FSML_ASSIGN_OR_RETURN(auto password, ReadPassword(*file, "new password for " + *name + ": "));
        FSML_RETURN_IF_ERROR(SetUserPassword(ws->meta(), *name, password));
        std::cout << "password of '" << *name << "' changed\n";
        return Status::Ok();
      });
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto role = std::make_shared<std::string>();
    auto* cmd = user->add_subcommand("role", "change a user's role");
    cmd->add_option("NAME", *name, "user name")->required();
    cmd->add_option("ROLE", *role, "admin | reviewer | annotator | viewer")->required();
    cmd->callback([&ctx, name, role] {
      Run(ctx, [&]() -> Status {
        FSML_ASSIGN_OR_RETURN(auto ws, OpenWorkspace(ctx));
        FSML_ASSIGN_OR_RETURN(auto r, http::ParseRole(*role));
        FSML_RETURN_IF_ERROR(SetUserRole(ws->meta(), *name, r));
        std::cout << "'" << *name << "' is now " << http::RoleName(r) << "\n";
        return Status::Ok();
      });
    });
  }
}

}  // namespace fsml::cli
