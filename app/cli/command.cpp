#include "app/cli/command.h"

namespace hearth::cli {

std::vector<Command>& commands() {
    static std::vector<Command> all;
    return all;
}

bool registerCommand(Command command) {
    commands().push_back(std::move(command));
    return true;
}

const Command* findCommand(const std::string& name) {
    for (const auto& c : commands())
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace hearth::cli
