// Splits a Jinja2 template into text and tag tokens the way Jinja2's lexer does with the
// environment transformers uses: trim_blocks and lstrip_blocks on, `{%-`/`-%}`/`{{-`/`-}}`/`{#-`
// whitespace control, `{%+` to keep leading space, `{% raw %}`, comments dropped, newlines
// normalized to "\n" and one trailing newline of the template removed (keep_trailing_newline off).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "inference/template/template_error.h"

namespace hearth::tmpl {

enum class TokenType {
    Text,        // literal output between tags
    VarBegin,    // {{
    VarEnd,      // }}
    BlockBegin,  // {%
    BlockEnd,    // %}
    Name,
    String,      // text holds the unescaped value
    Integer,
    Float,
    Operator,    // text holds the operator: "==", "(", "|", ...
    End,
};

struct Token {
    TokenType type = TokenType::End;
    std::string text;
    SourcePos pos;
};

// Throws TemplateError (with line and column) on an unterminated tag, string or comment, or a
// character that cannot start a token.
std::vector<Token> lex(std::string_view source);

}  // namespace hearth::tmpl
