// Opening the backend a benchmark measures, for the bench/backends programs.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "backends/registry.h"

namespace hearth::bench {

// The backend `device` with `threads` CPU threads, or null after printing why it cannot be opened.
// `registry` must outlive it (a backend may live in a module the registry loaded).
inline std::unique_ptr<Backend> openBackend(BackendRegistry& registry, const std::string& device, int threads) {
    try {
        return registry.open(device, {threads});
    } catch (const BackendError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return nullptr;
    }
}

}  // namespace hearth::bench
