// A small argument parser shared by every subcommand: "--key value", "--key=value", "--flag",
// short aliases, and positional arguments. Unknown options are an error so typos never pass
// silently.
//
//   Args args(argv + 2, argc - 2, "info");
//   bool json = args.flag("--json");
//   std::string model = args.positional(0, "MODEL");
//   args.finish();   // throws UsageError on anything left over
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hearth::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Args {
public:
    Args(char** argv, int argc, std::string command);
    explicit Args(std::vector<std::string> tokens, std::string command = "hearth");

    const std::string& command() const { return command_; }
    // True if present; consumes it.
    bool flag(const std::string& name, const std::string& alias = {});
    // The option's value if present (consumes both); UsageError if present without a value.
    std::optional<std::string> option(const std::string& name, const std::string& alias = {});
    std::string option(const std::string& name, const std::string& alias, const std::string& fallback);
    // Every value of a repeatable option, in order (consumes them all).
    std::vector<std::string> options(const std::string& name, const std::string& alias = {});
    std::optional<long long> intOption(const std::string& name, const std::string& alias = {});
    std::optional<double> floatOption(const std::string& name, const std::string& alias = {});
    // Positional argument `index` (among those not consumed as options); UsageError if missing.
    std::string positional(size_t index, const std::string& metavar);
    std::optional<std::string> optionalPositional(size_t index);
    bool help();  // --help / -h
    // Call after consuming everything: leftover options or too many positionals -> UsageError.
    void finish(size_t expectedPositionals);

private:
    std::vector<std::string> tokens_;
    std::vector<bool> used_;
    std::string command_;
    std::vector<size_t> positionalIndices() const;
};

// "1,2,3" -> {1,2,3}; UsageError naming `what` on anything else.
std::vector<int> parseIdList(const std::string& text, const std::string& what);

}  // namespace hearth::cli
