# libFuzzer harnesses (fuzz/, issue 18), built only with -DBALCAP_FUZZ=ON by clang:
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DBALCAP_FUZZ=ON -DBALCAP_TESTS=OFF -DBALCAP_CUDA=OFF
# scripts/fuzz configures, builds and runs them. With the option every balcap library is compiled
# with coverage (fuzzer-no-link), AddressSanitizer and UndefinedBehaviorSanitizer; only the areas
# the harnesses read (core io config text vision data) are built, by `--target fuzz_all`.
# -O1 + line tables: the usual fuzzing trade-off (fast enough, stacks that name lines); NDEBUG is
# left undefined so nlohmann::json's and libstdc++'s assertions fire on misuse instead of being UB.
if(NOT BALCAP_FUZZ)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "balcap: BALCAP_FUZZ needs clang (libFuzzer). HINT: configure a separate build directory "
                      "with CC=clang CXX=clang++ (scripts/fuzz does)")
endif()
set(BALCAP_FUZZ_SANITIZERS address,undefined)
target_compile_options(balcap_flags INTERFACE
  -fsanitize=fuzzer-no-link,${BALCAP_FUZZ_SANITIZERS} -fno-sanitize-recover=undefined -fno-omit-frame-pointer
  -O1 -gline-tables-only -UNDEBUG)
target_link_options(balcap_flags INTERFACE -fsanitize=${BALCAP_FUZZ_SANITIZERS})
