#include "app/gui_main.h"

#include <cstdio>

namespace hearth::app {

// Replaced by the Qt Quick start-up when the ui/ layer lands (issue 7).
int runGui(int, char**) {
    std::fprintf(stderr, "hearth: the desktop app is not part of this build yet; see 'hearth --help'\n");
    return 1;
}

}  // namespace hearth::app
