// The error the tokenizer throws for a file it cannot use or an id it does not know; the message
// names the file or value and says what is wrong.
#pragma once

#include <stdexcept>

namespace hearth {

class TokenizerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace hearth
