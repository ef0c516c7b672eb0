# Unit tests: one binary per module (tests/unit/test-<module>.c).
foreach(t id compress repo criu)
  add_executable(test-${t} tests/unit/test-${t}.c)
  target_include_directories(test-${t} PRIVATE tests/unit)
  target_link_libraries(test-${t} PRIVATE ckcore)
  add_test(NAME unit/${t} COMMAND test-${t})
  set_tests_properties(unit/${t} PROPERTIES SKIP_RETURN_CODE 77
    ENVIRONMENT "CK_DATA_DIR=${CMAKE_BINARY_DIR}/testdata")
endforeach()
