// tokenlog: the service and its tools in one binary.
#include <iostream>

#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"tokenlog: personal access tokens on an event-sourced, hash-chained log"};
  app.require_subcommand(0, 1);
  std::function<int()> run;
  tokenlog::tools::AddServe(app, &run);
  tokenlog::tools::AddDevJwt(app, &run);
  auto* help = app.add_subcommand("help", "Explain the commands");
  help->callback([&] { run = [&] { std::cout << app.help(); return 0; }; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!run) {
    std::cout << app.help();
    return 0;
  }
  return run();
}
