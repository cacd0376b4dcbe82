# `cmake --install build --prefix P`: the libraries, headers, C API and CLI, with a CMake package
# (find_package(byteformer): byteformer::lib, byteformer::c, byteformer::cli, one byteformer::AREA per
# library) and a pkg-config file for the C API (byteformer_c). Both are relocatable: the CMake
# files find the prefix from their own folder, the .pc file from ${pcfiledir}.
include(CMakePackageConfigHelpers)

set(BYTEFORMER_AREAS portable lite runtime io model codec transforms data prepare classify train report serve)
set(_install_targets byteformer_deps byteformer_lib byteformer_c byteformer byteformer-identify)
foreach(area ${BYTEFORMER_AREAS})
  set_target_properties(bf_${area} PROPERTIES EXPORT_NAME ${area})
  list(APPEND _install_targets bf_${area})
endforeach()
set_target_properties(byteformer_deps PROPERTIES EXPORT_NAME deps)
set_target_properties(byteformer_lib PROPERTIES EXPORT_NAME lib)
set_target_properties(byteformer_c PROPERTIES EXPORT_NAME c)
set_target_properties(byteformer PROPERTIES EXPORT_NAME cli)
set_target_properties(byteformer-identify PROPERTIES EXPORT_NAME identify)
# Our own wrappers of what has no CMake target of its own (ByteformerDeps.cmake): static
# libraries name them in their link interface, so they travel in the export too.
foreach(wrapper bf_onednn bf_mp3lame)
  if(TARGET ${wrapper})
    string(REPLACE "bf_" "" _name ${wrapper})
    set_target_properties(${wrapper} PROPERTIES EXPORT_NAME ${_name})
    list(APPEND _install_targets ${wrapper})
  endif()
endforeach()

# A LibTorch outside the system folders (PyPI's) is found again through the installed files'
# RUNPATH.
set_target_properties(byteformer byteformer_c PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)

install(TARGETS ${_install_targets} EXPORT byteformerTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/byteformer DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
if(BYTEFORMER_DEBIAN_FIRST)  # links to Debian's fmt and oneDNN headers, before a pip LibTorch's copies
  install(DIRECTORY ${BYTEFORMER_DEBIAN_FIRST}/ DESTINATION include/byteformer-debian-first)
endif()

set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/byteformer)
install(EXPORT byteformerTargets NAMESPACE byteformer:: DESTINATION ${_cmake_dir})
# What the config file needs to find the same dependencies again (byteformerConfig.cmake.in).
set(BYTEFORMER_TORCH_VERSION ${Torch_VERSION})
get_filename_component(BYTEFORMER_TORCH_DIR "${Torch_DIR}" REALPATH)
set(BYTEFORMER_WITH_OPENMP ${OpenMP_CXX_FOUND})
if(TARGET PkgConfig::MP3LAME)
  set(BYTEFORMER_LAME_PC ON)
else()
  set(BYTEFORMER_LAME_PC OFF)
endif()
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/byteformerConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/byteformerConfig.cmake
                              INSTALL_DESTINATION ${_cmake_dir})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/byteformerConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/byteformerConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/byteformerConfigVersion.cmake
        DESTINATION ${_cmake_dir})

# byteformer_c.pc: the prefix is found from the .pc file's own folder (pkg-config's ${pcfiledir}).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  message(FATAL_ERROR "CMAKE_INSTALL_LIBDIR ${CMAKE_INSTALL_LIBDIR}: expected a folder relative to the prefix")
endif()
file(RELATIVE_PATH BYTEFORMER_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" BYTEFORMER_PC_TO_PREFIX "${BYTEFORMER_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/byteformer_c.pc.in ${CMAKE_CURRENT_BINARY_DIR}/byteformer_c.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/byteformer_c.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The shipped file-type model that `byteformer identify` uses by default: the whole folder
# (config, weights and their sidecar, thresholds, and whatever notes and results it holds), at
# the place the program looks for it (share/byteformer/models/file-types, found from the
# program's own folder, so the install stays relocatable).
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/models/file-types/config.yaml)
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/models/file-types
          DESTINATION ${CMAKE_INSTALL_DATADIR}/byteformer/models)
else()
  message(STATUS "models/file-types has no config.yaml: identify's default model is not installed")
endif()
