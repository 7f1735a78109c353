# Build options shared by every layer.
include_guard(GLOBAL)

set(HEARTH_CUDA AUTO CACHE STRING "Build the CUDA backend module (AUTO, ON, OFF)")
set(HEARTH_HIP AUTO CACHE STRING "Build the HIP backend module (AUTO, ON, OFF)")
set(HEARTH_VULKAN AUTO CACHE STRING "Build the Vulkan backend module (AUTO, ON, OFF)")
set_property(CACHE HEARTH_CUDA HEARTH_HIP HEARTH_VULKAN PROPERTY STRINGS AUTO ON OFF)
set(HEARTH_CUDA_ARCHITECTURES "80;86;89;90" CACHE STRING "CUDA architectures for the CUDA backend")
set(HEARTH_HIP_ARCHITECTURES "gfx1030;gfx90a;gfx940" CACHE STRING "AMD GPU targets for the HIP backend")
option(HEARTH_BUILD_TESTS "Build the Qt Test executables" ON)
option(HEARTH_BUILD_BENCH "Build the benchmarks under bench/" ON)
option(HEARTH_WERROR "Treat compiler warnings as errors (on in CI)" OFF)
option(HEARTH_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(HEARTH_FUZZ "Build the libFuzzer targets (needs clang)" OFF)

# Resolves an AUTO|ON|OFF option into a boolean <var>_ENABLED, given whether the toolkit was found.
# A wanted-but-missing toolkit is an error; an AUTO one that is missing gets a one-line note.
function(hearth_resolve_option var found what)
  string(TOUPPER "${${var}}" value)
  if(value STREQUAL "OFF")
    set(${var}_ENABLED OFF PARENT_SCOPE)
  elseif(found)
    set(${var}_ENABLED ON PARENT_SCOPE)
  elseif(value STREQUAL "ON")
    message(FATAL_ERROR "${var}=ON but ${what} was not found")
  else()
    message(STATUS "Hearth: ${var} off (${what} not found)")
    set(${var}_ENABLED OFF PARENT_SCOPE)
  endif()
endfunction()

add_library(hearth_warnings INTERFACE)
target_compile_options(hearth_warnings INTERFACE
  $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-missing-field-initializers>
  $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-Wshadow=local>
  $<$<AND:$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>,$<BOOL:${HEARTH_WERROR}>>:-Werror>)

if(HEARTH_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
