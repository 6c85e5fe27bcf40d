# Third-party dependencies: Debian packages (scripts/bootstrap.sh) and LibTorch from the
# torch wheel in the project virtualenv.

find_package(yaml-cpp REQUIRED)
if(NOT TARGET yaml-cpp::yaml-cpp)  # yaml-cpp 0.7 (Debian 12) exports plain `yaml-cpp`
  add_library(yaml-cpp::yaml-cpp INTERFACE IMPORTED)
  target_link_libraries(yaml-cpp::yaml-cpp INTERFACE yaml-cpp)
endif()
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 CONFIG QUIET)
if(NOT TARGET CLI11::CLI11)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
# `balcap serve` and the remote judge: cpp-httplib as Debian ships it (a compiled library built with
# OpenSSL; its pkg-config file adds CPPHTTPLIB_OPENSSL_SUPPORT), libcurl with OpenSSL for the client.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(CURL REQUIRED)
# Cairo with its SVG surface (libcairo2-dev) draws `balcap plot` charts; text in DejaVu Sans (fonts-dejavu-core).
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo cairo-svg)
find_package(PNG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(JPEG REQUIRED)
find_path(UTF8PROC_INCLUDE_DIR utf8proc.h REQUIRED)
find_library(UTF8PROC_LIBRARY utf8proc REQUIRED)
add_library(balcap::utf8proc INTERFACE IMPORTED)
target_include_directories(balcap::utf8proc INTERFACE ${UTF8PROC_INCLUDE_DIR})
target_link_libraries(balcap::utf8proc INTERFACE ${UTF8PROC_LIBRARY})

# Python: the project venv (reference implementations for tests; LibTorch's location).
if(NOT BALCAP_PYTHON)
  if(EXISTS ${PROJECT_SOURCE_DIR}/.venv/bin/python)
    set(BALCAP_PYTHON ${PROJECT_SOURCE_DIR}/.venv/bin/python)
  else()
    find_program(BALCAP_PYTHON NAMES python3 python REQUIRED)
  endif()
endif()
set(BALCAP_PYTHON ${BALCAP_PYTHON} CACHE FILEPATH "Python with torch (LibTorch) and the reference packages")
execute_process(
  COMMAND ${BALCAP_PYTHON} -c "import torch, os; print(torch.utils.cmake_prefix_path); print(os.path.dirname(torch.__file__)); print(int(torch.backends.cuda.is_built())); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); print(torch.__version__)"
  OUTPUT_VARIABLE _torch_info OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _torch_rc)
if(NOT _torch_rc EQUAL 0)
  message(FATAL_ERROR "balcap: '${BALCAP_PYTHON}' cannot import torch. HINT: run scripts/bootstrap.sh, or pass -DBALCAP_PYTHON=/path/to/python with torch==2.11.0")
endif()
string(REPLACE "\n" ";" _torch_info "${_torch_info}")
list(GET _torch_info 0 TORCH_CMAKE_PREFIX)
list(GET _torch_info 1 TORCH_ROOT)
list(GET _torch_info 2 TORCH_HAS_CUDA)
list(GET _torch_info 3 TORCH_CXX11_ABI)
list(GET _torch_info 4 TORCH_PY_VERSION)
message(STATUS "balcap: torch ${TORCH_PY_VERSION} at ${TORCH_ROOT} (CUDA built: ${TORCH_HAS_CUDA})")

# BALCAP_CUDA=AUTO: on when LibTorch has CUDA and a CUDA toolchain (nvcc) is present.
set(BALCAP_WITH_CUDA OFF)
if(BALCAP_CUDA STREQUAL "ON")
  set(BALCAP_WITH_CUDA ON)
elseif(BALCAP_CUDA STREQUAL "AUTO" AND TORCH_HAS_CUDA)
  find_program(BALCAP_NVCC nvcc PATHS /usr/local/cuda/bin)
  if(BALCAP_NVCC)
    set(BALCAP_WITH_CUDA ON)
  endif()
endif()
message(STATUS "balcap: CUDA ${BALCAP_WITH_CUDA}")

# balcap::torch: LibTorch from the wheel. With CUDA we go through TorchConfig (it wires
# the CUDA toolkit); without, we link the CPU libraries directly so a CUDA wheel
# still builds a CPU-only binary on a machine without the toolkit.
add_library(balcap::torch INTERFACE IMPORTED)
# The wheel's libtorch.so and libtorch_cpu.so export their own copies of std::filesystem
# (statically linked from a newer toolchain), and libtorch.so's remove_all crashes when
# balcap calls it. Linking the system libstdc++ first puts its DT_NEEDED entry, and so
# symbol lookup, ahead of torch's.
target_link_libraries(balcap::torch INTERFACE stdc++)
# The wheel ships its own fmt (v12) headers inside torch/include; balcap links the system
# fmt that spdlog was built with, so it sees torch/include through a copy of symlinks
# without fmt/ (otherwise <fmt/format.h> resolves to the wheel's and fails to link).
set(TORCH_FILTERED_INCLUDE ${CMAKE_BINARY_DIR}/torch_include)
file(MAKE_DIRECTORY ${TORCH_FILTERED_INCLUDE})
file(GLOB _torch_include_entries RELATIVE ${TORCH_ROOT}/include ${TORCH_ROOT}/include/*)
foreach(_entry IN LISTS _torch_include_entries)
  if(NOT _entry STREQUAL "fmt" AND NOT EXISTS ${TORCH_FILTERED_INCLUDE}/${_entry})
    file(CREATE_LINK ${TORCH_ROOT}/include/${_entry} ${TORCH_FILTERED_INCLUDE}/${_entry} SYMBOLIC)
  endif()
endforeach()
if(BALCAP_WITH_CUDA)
  list(APPEND CMAKE_PREFIX_PATH ${TORCH_CMAKE_PREFIX})
  # Name the GPU architecture (H100/H200: sm_90) so TorchConfig does not probe for a GPU.
  if(NOT TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
    set(TORCH_CUDA_ARCH_LIST "9.0")
  endif()
  find_package(Torch REQUIRED)
  target_link_libraries(balcap::torch INTERFACE ${TORCH_LIBRARIES})
  # Swap torch/include for the filtered copy in every imported torch target.
  foreach(_t torch torch_cpu torch_cuda c10 c10_cuda torch_library)
    if(TARGET ${_t})
      get_target_property(_inc ${_t} INTERFACE_INCLUDE_DIRECTORIES)
      if(_inc)
        set(_fixed "")
        foreach(_d IN LISTS _inc)
          if(NOT _d MATCHES "^\\$<" AND EXISTS "${_d}")
            file(REAL_PATH "${_d}" _d)
          endif()
          if(_d STREQUAL "${TORCH_ROOT}/include")
            set(_d ${TORCH_FILTERED_INCLUDE})
          endif()
          list(APPEND _fixed "${_d}")
        endforeach()
        set_target_properties(${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_fixed}")
      endif()
    endif()
  endforeach()
  target_compile_definitions(balcap::torch INTERFACE BALCAP_WITH_CUDA=1)
else()
  find_library(TORCH_CPU_LIBRARY torch_cpu PATHS ${TORCH_ROOT}/lib NO_DEFAULT_PATH REQUIRED)
  find_library(C10_LIBRARY c10 PATHS ${TORCH_ROOT}/lib NO_DEFAULT_PATH REQUIRED)
  target_include_directories(balcap::torch SYSTEM INTERFACE
    ${TORCH_FILTERED_INCLUDE} ${TORCH_ROOT}/include/torch/csrc/api/include)
  target_link_libraries(balcap::torch INTERFACE ${TORCH_CPU_LIBRARY} ${C10_LIBRARY})
  target_link_options(balcap::torch INTERFACE "-Wl,-rpath,${TORCH_ROOT}/lib")
  # As TorchConfig sets them for the CUDA build: the wheel was built with distributed + Gloo, and
  # USE_DISTRIBUTED changes a struct layout in a jit header, so every TU must agree.
  target_compile_definitions(balcap::torch INTERFACE USE_DISTRIBUTED USE_C10D_GLOO)
endif()
target_compile_definitions(balcap::torch INTERFACE _GLIBCXX_USE_CXX11_ABI=${TORCH_CXX11_ABI})
