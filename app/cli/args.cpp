#include "app/cli/args.h"

#include <charconv>

namespace hearth::cli {

Args::Args(char** argv, int argc, std::string command) : command_(std::move(command)) {
    for (int i = 0; i < argc; ++i) tokens_.emplace_back(argv[i]);
    used_.assign(tokens_.size(), false);
}

Args::Args(std::vector<std::string> tokens, std::string command)
    : tokens_(std::move(tokens)), used_(tokens_.size(), false), command_(std::move(command)) {}

static bool matches(const std::string& tok, const std::string& name, const std::string& alias) {
    return tok == name || (!alias.empty() && tok == alias);
}

bool Args::flag(const std::string& name, const std::string& alias) {
    bool found = false;
    for (size_t i = 0; i < tokens_.size(); ++i) {
        if (used_[i]) continue;
        if (tokens_[i] == "--") break;
        if (matches(tokens_[i], name, alias)) {
            used_[i] = true;
            found = true;
        }
    }
    return found;
}

std::optional<std::string> Args::option(const std::string& name, const std::string& alias) {
    std::optional<std::string> value;
    for (size_t i = 0; i < tokens_.size(); ++i) {
        if (used_[i]) continue;
        const std::string& tok = tokens_[i];
        if (tok == "--") break;
        if (tok.rfind(name + "=", 0) == 0) {
            used_[i] = true;
            value = tok.substr(name.size() + 1);
        } else if (matches(tok, name, alias)) {
            if (i + 1 >= tokens_.size())
                throw UsageError(command_ + ": option " + name + " needs a value");
            used_[i] = used_[i + 1] = true;
            value = tokens_[i + 1];
            ++i;
        }
    }
    return value;
}

std::vector<std::string> Args::options(const std::string& name, const std::string& alias) {
    std::vector<std::string> values;
    for (size_t i = 0; i < tokens_.size(); ++i) {
        if (used_[i]) continue;
        const std::string& tok = tokens_[i];
        if (tok == "--") break;
        if (tok.rfind(name + "=", 0) == 0) {
            used_[i] = true;
            values.push_back(tok.substr(name.size() + 1));
        } else if (matches(tok, name, alias)) {
            if (i + 1 >= tokens_.size()) throw UsageError(command_ + ": option " + name + " needs a value");
            used_[i] = used_[i + 1] = true;
            values.push_back(tokens_[i + 1]);
            ++i;
        }
    }
    return values;
}

std::string Args::option(const std::string& name, const std::string& alias, const std::string& fallback) {
    auto v = option(name, alias);
    return v ? *v : fallback;
}

std::optional<long long> Args::intOption(const std::string& name, const std::string& alias) {
    auto v = option(name, alias);
    if (!v) return std::nullopt;
    long long out = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || ptr != v->data() + v->size())
        throw UsageError(command_ + ": " + name + " expects a whole number, got '" + *v + "'");
    return out;
}

std::optional<double> Args::floatOption(const std::string& name, const std::string& alias) {
    auto v = option(name, alias);
    if (!v) return std::nullopt;
    try {
        size_t used = 0;
        double out = std::stod(*v, &used);
        if (used != v->size()) throw std::invalid_argument(*v);
        return out;
    } catch (const std::exception&) {
        throw UsageError(command_ + ": " + name + " expects a number, got '" + *v + "'");
    }
}

std::vector<size_t> Args::positionalIndices() const {
    std::vector<size_t> out;
    bool afterDashDash = false;
    for (size_t i = 0; i < tokens_.size(); ++i) {
        if (used_[i]) continue;
        if (!afterDashDash && tokens_[i] == "--") {
            afterDashDash = true;
            continue;
        }
        if (!afterDashDash && tokens_[i].size() > 1 && tokens_[i][0] == '-') continue;
        out.push_back(i);
    }
    return out;
}

std::optional<std::string> Args::optionalPositional(size_t index) {
    auto idx = positionalIndices();
    if (index >= idx.size()) return std::nullopt;
    return tokens_[idx[index]];
}

std::string Args::positional(size_t index, const std::string& metavar) {
    auto v = optionalPositional(index);
    if (!v) throw UsageError(command_ + ": missing " + metavar);
    return *v;
}

bool Args::help() { return flag("--help", "-h"); }

void Args::finish(size_t expectedPositionals) {
    for (size_t i = 0; i < tokens_.size(); ++i) {
        if (used_[i]) continue;
        if (tokens_[i] == "--") break;
        if (tokens_[i].size() > 1 && tokens_[i][0] == '-')
            throw UsageError(command_ + ": unknown option " + tokens_[i]);
    }
    auto idx = positionalIndices();
    if (idx.size() > expectedPositionals)
        throw UsageError(command_ + ": unexpected argument '" + tokens_[idx[expectedPositionals]] + "'");
}

std::vector<int> parseIdList(const std::string& text, const std::string& what) {
    std::vector<int> ids;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        while (!part.empty() && part.front() == ' ') part.erase(part.begin());
        while (!part.empty() && part.back() == ' ') part.pop_back();
        int v = 0;
        auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (part.empty() || ec != std::errc() || ptr != part.data() + part.size() || v < 0)
            throw UsageError(what + ": '" + part + "' is not a token id (expected e.g. 1,2,3)");
        ids.push_back(v);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return ids;
}

}  // namespace hearth::cli
