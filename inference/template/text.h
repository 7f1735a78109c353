// Python str semantics over UTF-8: Python indexes, slices, counts and strips strings by code
// point, so these helpers decode to UTF-32 where that matters. Invalid bytes survive a round trip
// (each maps to a lone code point U+DC80..U+DCFF, like Python's surrogateescape).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "inference/template/value.h"

namespace hearth::tmpl {

std::u32string decodeUtf8(std::string_view s);
std::string encodeUtf8(std::u32string_view s);
// Appends one code point as UTF-8 (no surrogateescape mapping).
void appendUtf8(std::string& out, char32_t cp);
bool isAscii(std::string_view s);
int64_t codePointCount(std::string_view s);

// str.isspace() for one code point.
bool isPySpace(char32_t c);
// str.strip/lstrip/rstrip: `chars` null strips whitespace.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);

std::string toUpper(std::string_view s);
std::string toLower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize()
std::string pyTitle(std::string_view s);     // str.title()
std::string jinjaTitle(std::string_view s);  // Jinja's |title filter

// Python slicing of a str or list (tuple) value.
Value slice(const Value& v, std::optional<int64_t> start, std::optional<int64_t> stop,
            std::optional<int64_t> step);

}  // namespace hearth::tmpl
