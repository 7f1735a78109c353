// The one error the chat-template interpreter throws, for bad syntax, failed renders (a template's
// own raise_exception included) and exceeded sandbox limits. what() reads
// "line L, column C: problem" so a user can find the spot in the template file.
#pragma once

#include <stdexcept>
#include <string>

namespace hearth {

class TemplateError : public std::runtime_error {
public:
    TemplateError(int line, int column, const std::string& problem)
        : std::runtime_error("line " + std::to_string(line) + ", column " + std::to_string(column) +
                             ": " + problem),
          line_(line), column_(column), problem_(problem) {}

    int line() const { return line_; }
    int column() const { return column_; }
    // The message without the location prefix.
    const std::string& problem() const { return problem_; }

private:
    int line_;
    int column_;
    std::string problem_;
};

// Where a node of the template came from; every AST node carries one.
struct SourcePos {
    int line = 1;
    int column = 1;
};

}  // namespace hearth
