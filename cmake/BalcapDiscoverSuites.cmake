# Script mode (cmake -P), run after a test binary is built: lists its GoogleTest suites and writes
# one ctest test per suite, named AREA.Suite and run with --gtest_filter=Suite.* . One process per
# suite instead of one per test: the suite's tests share their process start (LibTorch loads in
# about a second), their fixtures and the python reference calls a suite makes once.
#   -D EXE=<binary> -D AREA=<area> -D OUT=<ctest file> -D WORKDIR=<dir> -D TIMEOUT=<s>
#   -D LONG_SUITES=<Suite;...> -D LONG_TIMEOUT=<s> -D FIXTURE=<fixture or empty>
cmake_minimum_required(VERSION 3.25)  # script mode: IN_LIST and the other current policies
execute_process(COMMAND ${EXE} --gtest_list_tests OUTPUT_VARIABLE listing RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "balcap: ${EXE} --gtest_list_tests failed (${rc}): ${listing}")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(script "")
foreach(line IN LISTS lines)
  # Suite lines start in column 0 and end with '.', optionally followed by "  # TypeParam = ...".
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.")
    set(suite ${CMAKE_MATCH_1})
    set(timeout ${TIMEOUT})
    if(suite IN_LIST LONG_SUITES)
      set(timeout ${LONG_TIMEOUT})
    endif()
    string(APPEND script "add_test([=[${AREA}.${suite}]=] [==[${EXE}]==] [==[--gtest_filter=${suite}.*]==])\n")
    string(APPEND script "set_tests_properties([=[${AREA}.${suite}]=] PROPERTIES LABELS ${AREA} TIMEOUT ${timeout}"
                         " WORKING_DIRECTORY [==[${WORKDIR}]==]")
    if(FIXTURE)
      string(APPEND script " FIXTURES_REQUIRED ${FIXTURE}")
    endif()
    string(APPEND script ")\n")
  endif()
endforeach()
file(WRITE ${OUT} "${script}")
