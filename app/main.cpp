// `hearth` with no arguments (or only GUI options such as --model PATH) starts the desktop app;
// `hearth <command> ...` runs a headless subcommand.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include "app/cli/command.h"
#include "app/gui_main.h"

namespace {

void printUsage() {
    std::printf("Hearth — chat with language models on your own computer.\n\n"
                "Usage:\n  hearth [--model PATH]        start the desktop app\n"
                "  hearth <command> [options]   run a command in the terminal\n\nCommands:\n");
    auto all = hearth::cli::commands();
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.name < b.name; });
    for (const auto& c : all) std::printf("  %-12s %s\n", c.name.c_str(), c.summary.c_str());
    std::printf("\nRun 'hearth <command> --help' for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || (argv[1][0] == '-' && std::string(argv[1]) != "--help" && std::string(argv[1]) != "-h" &&
                     std::string(argv[1]) != "--version"))
        return hearth::app::runGui(argc, argv);

    std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        printUsage();
        return 0;
    }
    if (name == "--version") {
        std::printf("hearth %s\n", HEARTH_VERSION);
        return 0;
    }
    const auto* command = hearth::cli::findCommand(name);
    if (!command) {
        std::fprintf(stderr, "hearth: unknown command '%s' (see 'hearth --help')\n", name.c_str());
        return 2;
    }
    hearth::cli::Args args(argv + 2, argc - 2, "hearth " + name);
    try {
        return command->run(args);
    } catch (const hearth::cli::UsageError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hearth %s: %s\n", name.c_str(), e.what());
        return 1;
    }
}
