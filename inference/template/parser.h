// Recursive-descent parser for the Jinja2 subset chat templates use, with Jinja2's operator
// precedence (condexpr < or < and < not < compare < +,- < ~ < *,/,//,% < ** < unary < postfix,
// filters, tests). Anything else (extends, include, import, recursive loops, ...) is refused
// with a TemplateError naming its line and column.
#pragma once

#include <memory>
#include <string_view>

#include "inference/template/ast.h"

namespace hearth::tmpl {

std::unique_ptr<Program> parse(std::string_view source);

}  // namespace hearth::tmpl
