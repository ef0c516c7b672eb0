# Unit tests: one binary per module (tests/unit/test-<module>.c).
foreach(t id compress repo criu retention crc32c)
  add_executable(test-${t} tests/unit/test-${t}.c)
  target_include_directories(test-${t} PRIVATE tests/unit)
  target_link_libraries(test-${t} PRIVATE ckcore)
  add_test(NAME unit/${t} COMMAND test-${t})
  set_tests_properties(unit/${t} PROPERTIES SKIP_RETURN_CODE 77
    ENVIRONMENT "CK_DATA_DIR=${CMAKE_BINARY_DIR}/testdata")
endforeach()

add_executable(ck-testtool tests/tools/ck-testtool.c)
target_link_libraries(ck-testtool PRIVATE ckcore)

# The real series, extracted once per build tree.
add_test(NAME setup/testdata
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/prepare-data.sh ${CMAKE_BINARY_DIR}/testdata)
set_tests_properties(setup/testdata PROPERTIES FIXTURES_SETUP testdata)
set_tests_properties(unit/criu PROPERTIES FIXTURES_REQUIRED testdata)

# Integration tests: tests/integration/NNN-<topic>.sh with real binaries.
file(GLOB CK_INTEGRATION_TESTS RELATIVE ${CMAKE_SOURCE_DIR}
  ${CMAKE_SOURCE_DIR}/tests/integration/[0-9]*.sh)
list(SORT CK_INTEGRATION_TESTS)
foreach(script ${CK_INTEGRATION_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME integration/${name}
    COMMAND bash ${CMAKE_SOURCE_DIR}/${script})
  set_tests_properties(integration/${name} PROPERTIES
    SKIP_RETURN_CODE 77
    FIXTURES_REQUIRED testdata
    TIMEOUT 900
    ENVIRONMENT "CKSTORE=$<TARGET_FILE:ckstore>;CKSTORED=$<TARGET_FILE:ckstored>;CK_TESTTOOL=$<TARGET_FILE:ck-testtool>;MKCHAIN=$<TARGET_FILE:mkchain>;CK_DATA_DIR=${CMAKE_BINARY_DIR}/testdata;CK_SRC=${CMAKE_SOURCE_DIR}")
endforeach()

# tests/fuzz: libFuzzer binaries with CKSTORE_FUZZ=ON (clang), else a
# replay test that runs the checked-in corpus.
foreach(f criu)
  if(CKSTORE_FUZZ)
    add_executable(fuzz-${f} tests/fuzz/fuzz-${f}.c store/${f}.c)
    target_compile_options(fuzz-${f} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz-${f} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(fuzz-${f} tests/fuzz/fuzz-${f}.c tests/fuzz/fuzz-main.c
                   store/${f}.c)
    add_test(NAME fuzz/${f}
             COMMAND fuzz-${f} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${f})
    set_tests_properties(fuzz/${f} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
  target_include_directories(fuzz-${f} PRIVATE store)
  target_link_libraries(fuzz-${f} PRIVATE ck_warnings)
endforeach()

# ckstore-fuse (3xx): the mount and a writer that behaves like CRIU.
add_executable(criu-writer tests/tools/criu-writer.c)
target_link_libraries(criu-writer PRIVATE ck_warnings)
add_executable(criu-reader tests/tools/criu-reader.c)
target_link_libraries(criu-reader PRIVATE ckcore)
foreach(script ${CK_INTEGRATION_TESTS})
  get_filename_component(name ${script} NAME_WE)
  set_property(TEST integration/${name} APPEND PROPERTY ENVIRONMENT
    "CKSTORE_FUSE=$<TARGET_FILE:ckstore-fuse>"
    "CRIU_WRITER=$<TARGET_FILE:criu-writer>"
    "CRIU_READER=$<TARGET_FILE:criu-reader>")
endforeach()

# ckstored's settings and token matcher (server/config.c, server/auth.c).
foreach(t config auth)
  add_executable(test-${t} tests/unit/test-${t}.c)
  target_include_directories(test-${t} PRIVATE tests/unit)
  target_link_libraries(test-${t} PRIVATE ckserver)
  add_test(NAME unit/${t} COMMAND test-${t})
  set_tests_properties(unit/${t} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
