// Subcommands of the headless command line (`hearth info`, `hearth chat`, ...).
// Each lives in its own app/cli/<name>_command.cpp and registers itself:
//
//   static int runInfo(hearth::cli::Args& args) { ... return 0; }
//   HEARTH_COMMAND(info, "Describe a GGUF file or a Hugging Face model folder", runInfo);
//
// A command returns the process exit code: 0 on success, 1 when the input was bad (after printing
// a message that names the file and what to do), 2 for a usage error.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "app/cli/args.h"

namespace hearth::cli {

using CommandFn = std::function<int(Args&)>;

struct Command {
    std::string name;
    std::string summary;
    CommandFn run;
};

std::vector<Command>& commands();
bool registerCommand(Command command);
const Command* findCommand(const std::string& name);

}  // namespace hearth::cli

#define HEARTH_COMMAND(name, summary, fn) \
    static const bool hearthCommandRegistered_##name = ::hearth::cli::registerCommand({#name, summary, fn})
