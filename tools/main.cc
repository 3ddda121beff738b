// tokenlog: the service and its tools in one binary.
#include <sys/stat.h>

#include <iostream>

#include "tools/commands.h"

int main(int argc, char** argv) {
  // Data directories, backups and their files are the owner's alone: the
  // log holds usernames, client addresses and the cursor key.
  ::umask(077);
  CLI::App app{"tokenlog: personal access tokens on an event-sourced, hash-chained log"};
  app.require_subcommand(0, 1);
  std::function<int()> run;
  tokenlog::tools::AddServe(app, &run);
  tokenlog::tools::AddDevJwt(app, &run);
  tokenlog::tools::AddLogCommands(app, &run);
  auto* help = app.add_subcommand("help", "Explain the commands (`tokenlog help CMD` for one)");
  std::string topic;
  help->add_option("command", topic, "the command to explain");
  help->callback([&] {
    run = [&] {
      CLI::App* target = &app;
      if (!topic.empty()) {
        try {
          target = app.get_subcommand(topic);
        } catch (const CLI::OptionNotFound&) {
          std::cerr << "tokenlog: no command " << topic << std::endl;
          return 2;
        }
      }
      std::cout << app.get_formatter()->make_help(target, target->get_name(),
                                                  CLI::AppFormatMode::Normal);
      return 0;
    };
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; any other parse error is a usage error,
    // exit 2 like tokenlog's own checks (not CLI11's codes 101-115).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!run) {
    std::cout << app.help();
    return 0;
  }
  return run();
}
