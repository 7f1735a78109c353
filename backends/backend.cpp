#include "backends/backend.h"

namespace hearth {

namespace {

// Replays by calling the recorded function again: right for a backend that runs ops as they are
// enqueued (the CPU), and a correct fallback for any other.
class ReplayGraph : public Graph {
public:
    explicit ReplayGraph(std::function<void()> record) : record_(std::move(record)) {}
    void run() override { record_(); }

private:
    std::function<void()> record_;
};

}  // namespace

std::unique_ptr<Graph> Backend::capture(std::function<void()> record) {
    record();
    return std::make_unique<ReplayGraph>(std::move(record));
}

}  // namespace hearth
