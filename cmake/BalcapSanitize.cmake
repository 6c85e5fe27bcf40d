# Sanitizer builds (issue 18): BALCAP_SANITIZE="address,undefined" or "thread" compiles and links
# every target of this project with that -fsanitize list; empty (the default) changes nothing.
# scripts/sanitize configures build-asan / build-tsan with it, runs ctest and counts the reports.
#
# Only balcap's own code (and the header code it instantiates: ATen inline functions, spdlog,
# nlohmann/json, GoogleTest's headers) is instrumented. LibTorch comes from the pip wheel and is not;
# ASan still sees its heap (the allocator is intercepted process-wide) but not its loads and stores,
# and TSan sees none of its memory accesses (scripts/sanitize says what that means for each tool).
set(BALCAP_SANITIZE "" CACHE STRING "Sanitizers for every balcap target: empty, address,undefined, or thread")
set_property(CACHE BALCAP_SANITIZE PROPERTY STRINGS "" "address,undefined" "address" "undefined" "thread")

if(BALCAP_SANITIZE)
  if(BALCAP_SANITIZE MATCHES "thread" AND BALCAP_SANITIZE MATCHES "address")
    message(FATAL_ERROR "balcap: BALCAP_SANITIZE='${BALCAP_SANITIZE}' combines thread and address, which "
      "cannot share a process. HINT: use -DBALCAP_SANITIZE=address,undefined or -DBALCAP_SANITIZE=thread "
      "in two build directories (scripts/sanitize address / scripts/sanitize thread)")
  endif()
  # -fno-omit-frame-pointer: the sanitizers' fast unwinder needs frame pointers for whole stacks.
  # -O1 -g1: after the build type's -O3 on the command line, so it wins (gcc takes the last -O);
  # -O1 keeps the instrumented code near the speed of the Release tests (they already take ~6 min
  # at -O3) without the inlining that hides frames, -g1 gives line numbers in reports without the
  # full debug info that made the RelWithDebInfo binary 380 MB.
  # UBSan recovers (gcc's default): a report is logged and the test goes on, so one run lists every
  # report; UBSAN_OPTIONS=halt_on_error=1 makes the first one fatal, and scripts/sanitize fails the
  # run on any report in the logs.
  add_compile_options(-fsanitize=${BALCAP_SANITIZE} -fno-omit-frame-pointer -O1 -g1)
  add_link_options(-fsanitize=${BALCAP_SANITIZE})
  message(STATUS "balcap: sanitizers ${BALCAP_SANITIZE} (-O1 -g1)")
endif()
