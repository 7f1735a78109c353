// Holds back streamed text that could still turn into a user stop string, so a stop string (or
// the start of one) never reaches the user.
//
//   StopFilter f({"\nUser:"});
//   auto out = f.push(piece);   // out.text is safe to show; out.stopped: a stop string matched
//   ...
//   show(f.flush());            // at the end of generation (no stop): release what was held
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth {

class StopFilter {
public:
    explicit StopFilter(std::vector<std::string> stops);

    struct Output {
        std::string text;      // ready to emit
        bool stopped = false;  // a stop string matched; text ends right before it
    };
    Output push(std::string_view piece);
    std::string flush();
    const std::string& held() const { return pending_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool stopped_ = false;
};

}  // namespace hearth
