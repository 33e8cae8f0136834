# Warnings, sanitizers and the test helper shared by every target of ours.

function(fsml_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
  if(FSML_SANITIZE)
    target_compile_options(${target} PUBLIC -fsanitize=address,undefined -fno-omit-frame-pointer)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # GCC 12's flow analysis reports false "maybe uninitialized" under -fsanitize.
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
  if(FSML_FUZZ)
    target_compile_options(${target} PUBLIC -fsanitize=fuzzer-no-link,address,undefined)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()

# fsml_add_library(name SOURCES ... ): a shared library, so that the
# training module (loaded with dlopen) and the program share one copy of
# each module and its state. Installed, the libraries sit together (in
# lib/fsml, and in the Python wheel next to the module), so each finds the
# others in its own folder.
function(fsml_add_library name)
  add_library(${name} SHARED ${ARGN})
  set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/src
                        INSTALL_RPATH "$ORIGIN")
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  fsml_target_defaults(${name})
endfunction()

# fsml_add_test(name LABEL unit|integration|e2e SOURCES ... LIBS ...)
function(fsml_add_test name)
  cmake_parse_arguments(T "" "LABEL" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  fsml_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} TEST_PREFIX "${name}." PROPERTIES LABELS ${T_LABEL}
                       ENVIRONMENT "FSML_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/data"
                       DISCOVERY_TIMEOUT 60)
  # `cmake --build DIR --target unit_tests` builds just the unit tier.
  if(T_LABEL STREQUAL "unit")
    if(NOT TARGET unit_tests)
      add_custom_target(unit_tests)
    endif()
    add_dependencies(unit_tests ${name})
  endif()
endfunction()
