#pragma once

namespace hearth::app {

// Starts the desktop app (QGuiApplication + QML) and returns its exit code.
int runGui(int argc, char** argv);

}  // namespace hearth::app
