# Shared compile settings and helpers for Earshot's targets.

add_library(earshot_warnings INTERFACE)
target_compile_options(earshot_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor)
if(EARSHOT_WERROR)
  target_compile_options(earshot_warnings INTERFACE -Werror)
endif()

if(EARSHOT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# earshot_library(NAME DEPS...): one library per architecture folder, built from the
# folder's .cc files other than tests, benches and fuzz targets.
function(earshot_library name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER sources EXCLUDE REGEX "_(test|bench|fuzz|main)\\.cc$")
  if(NOT sources)
    # A layer with headers only so far.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARGN})
    return()
  endif()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARGN} PRIVATE earshot_warnings)
  # The media loops (mix, convert, limit) are plain loops over a tick of samples;
  # -O3 lets GCC vectorise them with its full cost model (-O2 only takes the cheapest).
  target_compile_options(${name} PRIVATE $<$<CONFIG:Release,RelWithDebInfo>:-O3>)
  # GCC 12 at -O3 reports std::string's own memcpy as overlapping (GCC bug 105329).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${name} PRIVATE $<$<CONFIG:Release,RelWithDebInfo>:-Wno-restrict>)
  endif()
endfunction()

# earshot_tests(LIBRARY): one GoogleTest binary from the folder's *_test.cc files,
# registered with ctest test by test.
include(GoogleTest)
function(earshot_tests name)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(${name}_test ${sources})
  target_link_libraries(${name}_test PRIVATE ${ARGN} GTest::gtest_main GTest::gmock earshot_warnings)
  gtest_discover_tests(${name}_test
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES ENVIRONMENT "EARSHOT_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()
