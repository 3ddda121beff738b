// The `tokenlog` subcommands. Each registers its flags on a CLI11 app and
// returns the process exit code when run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace tokenlog::tools {

// Registers `serve`; *run is set to the function that runs it.
void AddServe(CLI::App& app, std::function<int()>* run);
// Registers events, as-of, timeline, verify, rebuild and backup.
void AddLogCommands(CLI::App& app, std::function<int()>* run);
// Registers `dev-jwt`.
void AddDevJwt(CLI::App& app, std::function<int()>* run);

// The name of the dev HS256 key inside the data directory.
inline constexpr const char* kDevSecretFile = "dev-jwt.secret";

}  // namespace tokenlog::tools
