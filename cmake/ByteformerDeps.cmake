# Every dependency comes from Debian 12 (scripts/setup.sh) and is found here; LibTorch is
# Debian's (1.13.1, CPU) or, with `scripts/build.sh --torch pip`, PyPI's (2.x, CUDA).
find_package(Torch REQUIRED)
message(STATUS "LibTorch ${Torch_VERSION}: ${TORCH_INSTALL_PREFIX}")
# TorchConfig finds its libraries with find_library(... PATHS <prefix>/lib), which looks in the
# system folders first: with Debian's libtorch installed too, a pip torch's headers would be
# linked with Debian's libtorch.so. build.sh puts the pip torch's own folder on
# CMAKE_PREFIX_PATH; this check says so when that was not done.
get_filename_component(_torch_lib_dir "${TORCH_LIBRARY}" DIRECTORY)
get_filename_component(_torch_lib_dir "${_torch_lib_dir}" REALPATH)
get_filename_component(_torch_prefix "${TORCH_INSTALL_PREFIX}" REALPATH)
string(FIND "${_torch_lib_dir}/" "${_torch_prefix}/" _torch_lib_at)
if(NOT _torch_lib_at EQUAL 0)  # Debian's is /usr/lib/<multiarch>, a pip torch's <prefix>/lib
  message(FATAL_ERROR "LibTorch's headers come from ${TORCH_INSTALL_PREFIX} but its library from "
                      "${TORCH_LIBRARY}: put ${TORCH_INSTALL_PREFIX} on CMAKE_PREFIX_PATH "
                      "(scripts/build.sh --torch pip does)")
endif()
# A pip LibTorch's libtorch.so exports copies of libstdc++'s std::filesystem functions, and
# listed before libstdc++ it interposes them: std::filesystem::remove_all jumped to address 0.
# libstdc++ first among each binary's libraries keeps the C++ runtime's own.
if(Torch_VERSION VERSION_GREATER_EQUAL 2)
  add_link_options("LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
endif()
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(JPEG REQUIRED)
find_package(PNG REQUIRED)
find_package(ZLIB REQUIRED)  # gzip IDX files (Fashion-MNIST), crc32 of checkpoint records
find_package(TIFF REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile)
pkg_check_modules(MP3LAME IMPORTED_TARGET mp3lame)
pkg_check_modules(SAMPLERATE IMPORTED_TARGET samplerate)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)  # byteformer serve (libcpp-httplib-dev)
# SHA-256 of `byteformer data file-types`: OpenSSL's libcrypto (libssl-dev, which libcpp-httplib-dev
# depends on and links).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
if(NOT MP3LAME_FOUND)
  find_library(MP3LAME_LIB mp3lame REQUIRED)
  add_library(bf_mp3lame INTERFACE)
  target_link_libraries(bf_mp3lame INTERFACE ${MP3LAME_LIB})
  set(BF_LAME bf_mp3lame)
else()
  set(BF_LAME PkgConfig::MP3LAME)
endif()

add_library(byteformer_deps INTERFACE)
target_link_libraries(byteformer_deps INTERFACE
  ${TORCH_LIBRARIES} yaml-cpp nlohmann_json::nlohmann_json fmt::fmt
  JPEG::JPEG PNG::PNG ZLIB::ZLIB TIFF::TIFF PkgConfig::SNDFILE ${BF_LAME} PkgConfig::SAMPLERATE
  Threads::Threads)
if(Torch_VERSION VERSION_GREATER_EQUAL 2)  # the rule above, for programs linking the installed libraries
  target_link_options(byteformer_deps INTERFACE
    "$<INSTALL_INTERFACE:LINKER:--push-state,--no-as-needed;-lstdc++;LINKER:--pop-state>")
endif()
# PyPI's LibTorch ships copies of fmt (12.x) and oneDNN (3.x) headers in its include folder,
# which comes before /usr/include: code compiled against them and linked with Debian's libfmt
# 9 and libdnnl 2 would not link (fmt) or would mismatch (oneDNN). A folder of links to
# Debian's copies goes first (GCC ignores -I/usr/include itself). LibTorch's own symbols of both
# are hidden (`nm -D libtorch_cpu.so` shows no dnnl_*), so the two oneDNNs do not meet at link
# or load time.
set(_debian_first "")
foreach(_inc fmt oneapi)
  foreach(_tdir ${TORCH_INCLUDE_DIRS})
    if(NOT _tdir STREQUAL "/usr/include" AND EXISTS ${_tdir}/${_inc} AND EXISTS /usr/include/${_inc})
      file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/debian-first)
      file(CREATE_LINK /usr/include/${_inc} ${CMAKE_BINARY_DIR}/debian-first/${_inc} SYMBOLIC)
      set(_debian_first ${CMAKE_BINARY_DIR}/debian-first)
    endif()
  endforeach()
endforeach()
if(_debian_first)
  # Installed as links beside the headers (cmake/ByteformerInstall.cmake), for programs using them.
  target_include_directories(byteformer_deps BEFORE INTERFACE $<BUILD_INTERFACE:${_debian_first}>
                             $<INSTALL_INTERFACE:include/byteformer-debian-first>)
  set(BYTEFORMER_DEBIAN_FIRST ${_debian_first})
  message(STATUS "Debian's fmt and oneDNN headers before LibTorch's copies: ${_debian_first}")
endif()
# CUDA: a LibTorch built with it (PyPI's) brings torch_cuda; byteformer --version reports it.
if(TARGET torch_cuda)
  set(BYTEFORMER_HAVE_CUDA ON)
  target_compile_definitions(byteformer_deps INTERFACE BYTEFORMER_WITH_CUDA)
  message(STATUS "LibTorch has CUDA (toolkit ${CUDAToolkit_VERSION}): CUDA devices and c10d's NCCL enabled")
else()
  set(BYTEFORMER_HAVE_CUDA OFF)
endif()
# The Python whose torch the tests check our .pt files with (Debian's python3-torch, or the
# pip torch's virtual environment).
set(BYTEFORMER_TEST_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with torch, for the interop tests")
# LibTorch's at::parallel_for is inline and runs on OpenMP only where the caller is compiled
# with OpenMP: without it, our parallel loops run on one thread.
find_package(OpenMP)
if(OpenMP_CXX_FOUND)
  target_link_libraries(byteformer_deps INTERFACE OpenMP::OpenMP_CXX)
else()
  message(WARNING "OpenMP not found: at::parallel_for in byteformer's own code runs on one thread")
endif()
if(TORCH_CXX_FLAGS)
  separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(byteformer_deps INTERFACE ${_torch_flags})
endif()
# oneDNN (Debian's libdnnl-dev: the oneDNN that Debian's LibTorch links) for the float32 linear
# layers of the CPU inference paths (byteformer/model/cpu/fast_linear.h); without it they run on
# ATen's addmm. A pip LibTorch carries a oneDNN 3.x of its own, with its symbols hidden (`nm -D
# libtorch_cpu.so` lists no dnnl_*), so Debian's 2.x links beside it, but its primitives fail
# at run time there ("could not execute a primitive": its OpenMP is the wheel's libgomp), so
# the default is off with LibTorch 2.x (ATen's products then run on the wheel's oneDNN/MKL).
# Its headers are looked for in /usr/include first (a pip torch's folder holds 3.x headers).
if(Torch_VERSION VERSION_LESS 2)
  set(_onednn_default ON)
else()
  set(_onednn_default OFF)
endif()
option(BYTEFORMER_WITH_ONEDNN "Call oneDNN's matrix products in the CPU inference paths" ${_onednn_default})
if(BYTEFORMER_WITH_ONEDNN)
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp PATHS /usr/include NO_DEFAULT_PATH)
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
  find_library(DNNL_LIBRARY dnnl)
  set(_dnnl_major "")
  if(DNNL_INCLUDE_DIR AND EXISTS ${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h)
    file(STRINGS ${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h _dnnl_line REGEX "#define DNNL_VERSION_MAJOR ")
    string(REGEX MATCH "[0-9]+" _dnnl_major "${_dnnl_line}")
  endif()
  if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY AND NOT _dnnl_major STREQUAL "2")
    # fast_linear.cpp speaks oneDNN 2.x (matmul::desc, output scales), Debian 12's; 3.x changed both.
    message(WARNING "oneDNN ${_dnnl_major}.x found, fast_linear.cpp needs 2.x: the inference linear layers use ATen's addmm")
  elseif(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
    add_library(bf_onednn INTERFACE)
    # bf_model uses it privately: programs linking the installed bf_model need its library only.
    target_include_directories(bf_onednn INTERFACE $<BUILD_INTERFACE:${DNNL_INCLUDE_DIR}>)
    target_link_libraries(bf_onednn INTERFACE ${DNNL_LIBRARY})
    message(STATUS "oneDNN: ${DNNL_LIBRARY}")
  else()
    message(WARNING "oneDNN not found (libdnnl-dev): the inference paths' linear layers use ATen's addmm")
  endif()
endif()
