# Use ccache when present: a warm rebuild after touching one file recompiles one TU.
find_program(BALCAP_CCACHE ccache)
if(BALCAP_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${BALCAP_CCACHE})
  # Precompiled headers and ccache work together only when ccache may trust the PCH.
  set(ENV{CCACHE_SLOPPINESS} "pch_defines,time_macros,include_file_mtime,include_file_ctime")
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime" ${BALCAP_CCACHE})
endif()
