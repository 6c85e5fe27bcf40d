# Helpers that keep every target's flags identical, so one precompiled header serves all.

add_library(balcap_flags INTERFACE)
target_compile_options(balcap_flags INTERFACE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
target_include_directories(balcap_flags INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(balcap_flags INTERFACE balcap::torch yaml-cpp::yaml-cpp spdlog::spdlog fmt::fmt nlohmann_json::nlohmann_json)
target_compile_definitions(balcap_flags INTERFACE BALCAP_VERSION="${PROJECT_VERSION}" SPDLOG_FMT_EXTERNAL)

# The heavy headers every TU uses: compiled once into balcap_core's PCH, reused by all targets.
set(BALCAP_PCH_HEADERS
  <ATen/ATen.h> ${PROJECT_SOURCE_DIR}/src/core/log.h <nlohmann/json.hpp>
  <string> <vector> <map> <memory> <optional> <filesystem> <stdexcept> <functional>)

# Two precompiled headers: balcap_core's (ATen and the common headers) for the areas that only
# use tensors, and balcap_models' (the same plus <torch/torch.h>, the nn modules) for the models
# and for the targets that include model headers (the CLI, the model tests).
set(BALCAP_PCH_NN_TARGETS balcap balcap_models_tests
  balcap_sampling balcap_sampling_tests balcap_serve balcap_serve_tests balcap_rewards balcap_rewards_tests
  balcap_checkpoint balcap_checkpoint_tests balcap_train balcap_train_tests)

function(balcap_use_pch target)
  if(target STREQUAL balcap_core)
    target_precompile_headers(${target} PRIVATE ${BALCAP_PCH_HEADERS})
  elseif(target STREQUAL balcap_models)
    target_precompile_headers(${target} PRIVATE ${BALCAP_PCH_HEADERS} <torch/torch.h>)
  elseif(target IN_LIST BALCAP_PCH_NN_TARGETS)
    target_precompile_headers(${target} REUSE_FROM balcap_models)
  else()
    target_precompile_headers(${target} REUSE_FROM balcap_core)
  endif()
endfunction()

# balcap_area(NAME DEPS a b ...): static library balcap_NAME from src/NAME/*.cpp.
function(balcap_area name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  add_library(balcap_${name} STATIC ${sources})
  target_link_libraries(balcap_${name} PUBLIC balcap_flags)
  foreach(dep IN LISTS ARG_DEPS)
    target_link_libraries(balcap_${name} PUBLIC balcap_${dep})
  endforeach()
  balcap_use_pch(balcap_${name})
endfunction()

# Translation units that include no LibTorch header (found by cmake/torch_free_sources.py over the
# quoted includes, at configure time) compile without a precompiled header: loading the 0.4-0.8 GB
# LibTorch PCH costs such a file more than its own headers do. A stale list only costs speed (the
# PCH is an -include of headers every file may include), never correctness.
function(balcap_skip_pch_for_torch_free_sources)
  execute_process(
    COMMAND ${BALCAP_PYTHON} ${PROJECT_SOURCE_DIR}/cmake/torch_free_sources.py ${PROJECT_SOURCE_DIR} ${ARGN}
    OUTPUT_VARIABLE _free OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(WARNING "balcap: cmake/torch_free_sources.py failed; every file uses the precompiled header")
    return()
  endif()
  string(REPLACE "\n" ";" _free "${_free}")
  # balcap_core and balcap_models build the two PCHs the other targets reuse: a target whose every
  # file skipped it would build none (and REUSE_FROM would fail at generate time).
  list(FILTER _free EXCLUDE REGEX "/src/(core|models)/")
  set_source_files_properties(${_free} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
endfunction()
