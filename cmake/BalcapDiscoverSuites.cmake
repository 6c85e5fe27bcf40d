# Script mode (cmake -P), run after a test binary is built: lists its GoogleTest suites and writes
# one ctest test per suite, named AREA.Suite and run with --gtest_filter=Suite.* . One process per
# suite instead of one per test: the suite's tests share their process start (LibTorch loads in
# about a second), their fixtures and the python reference calls a suite makes once. Suites named
# in SPLIT_SUITES (a few long end-to-end tests each) get one ctest test per test, AREA.Suite.Test,
# so ctest -j can run their tests side by side.
#   -D EXE=<binary> -D AREA=<area> -D OUT=<ctest file> -D WORKDIR=<dir> -D TIMEOUT=<s>
#   -D LONG_SUITES=<Suite;...> -D LONG_TIMEOUT=<s> -D SPLIT_SUITES=<Suite;...> -D FIXTURE=<fixture or empty>
cmake_minimum_required(VERSION 3.25)  # script mode: IN_LIST and the other current policies
execute_process(COMMAND ${EXE} --gtest_list_tests OUTPUT_VARIABLE listing RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "balcap: ${EXE} --gtest_list_tests failed (${rc}): ${listing}")
endif()

# add_test + properties of one ctest test running the tests `filter` selects.
function(append_test name filter suite)
  set(timeout ${TIMEOUT})
  if(suite IN_LIST LONG_SUITES)
    set(timeout ${LONG_TIMEOUT})
  endif()
  set(text "add_test([=[${name}]=] [==[${EXE}]==] [==[--gtest_filter=${filter}]==])\n")
  string(APPEND text "set_tests_properties([=[${name}]=] PROPERTIES LABELS ${AREA} TIMEOUT ${timeout}"
                     " WORKING_DIRECTORY [==[${WORKDIR}]==]")
  if(FIXTURE)
    string(APPEND text " FIXTURES_REQUIRED ${FIXTURE}")
  endif()
  set(script "${script}${text})\n" PARENT_SCOPE)
endfunction()

string(REPLACE "\n" ";" lines "${listing}")
set(script "")
set(suite "")
foreach(line IN LISTS lines)
  # Suite lines start in column 0 and end with '.' (optionally "  # TypeParam = ..."); test lines
  # are indented by two spaces (optionally "  # GetParam() = ...").
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.")
    set(suite ${CMAKE_MATCH_1})
    if(NOT suite IN_LIST SPLIT_SUITES)
      append_test(${AREA}.${suite} "${suite}.*" ${suite})
    endif()
  elseif(line MATCHES "^  ([A-Za-z_][A-Za-z0-9_/]*)" AND suite IN_LIST SPLIT_SUITES)
    append_test(${AREA}.${suite}.${CMAKE_MATCH_1} "${suite}.${CMAKE_MATCH_1}" ${suite})
  endif()
endforeach()
file(WRITE ${OUT} "${script}")
