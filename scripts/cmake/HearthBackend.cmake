# hearth_add_backend(NAME <name> SOURCES ... [LIBS ...])
# Builds one compute backend as a module that the registry opens at run time (dlopen), so a
# build with that backend still runs where its runtime library is missing.
include_guard(GLOBAL)

function(hearth_add_backend)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;LIBS;INCLUDES" ${ARGN})
  set(target hearth-backend-${ARG_NAME})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE hearth_backend_api hearth_warnings ${ARG_LIBS})
  target_include_directories(${target} PRIVATE ${ARG_INCLUDES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/lib/hearth"
    CXX_VISIBILITY_PRESET hidden
    INSTALL_RPATH "$ORIGIN")
  install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/hearth)
endfunction()
