#include "inference/engine/stop_filter.h"

#include <algorithm>

namespace hearth {

StopFilter::StopFilter(std::vector<std::string> stops) {
    for (auto& s : stops) {
        if (!s.empty()) stops_.push_back(std::move(s));
    }
}

StopFilter::Output StopFilter::push(std::string_view piece) {
    Output out;
    if (stopped_) {
        out.stopped = true;
        return out;
    }
    pending_.append(piece);
    // Earliest complete match wins.
    size_t first = std::string::npos;
    for (const auto& s : stops_) first = std::min(first, pending_.find(s));
    if (first != std::string::npos) {
        out.text = pending_.substr(0, first);
        out.stopped = stopped_ = true;
        pending_.clear();
        return out;
    }
    // Keep the longest tail of pending_ that is a proper prefix of some stop string. A stop
    // string starts on a UTF-8 lead byte, so the split never cuts a character.
    size_t hold = 0;
    for (const auto& s : stops_) {
        size_t maxLen = std::min(s.size() - 1, pending_.size());
        for (size_t len = maxLen; len > hold; --len) {
            if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
                hold = len;
                break;
            }
        }
    }
    out.text = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StopFilter::flush() {
    std::string rest;
    rest.swap(pending_);
    return stopped_ ? std::string() : rest;
}

}  // namespace hearth
