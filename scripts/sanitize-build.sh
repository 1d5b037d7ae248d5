# Sourced by test.sh and fuzz.sh: configures build-sanitize, one clang build with ASan, UBSan
# and LSan for the test suite and, with coverage instrumentation (-Dfuzz=true), the libFuzzer
# targets. One build instead of two keeps CI within its time. Examples and benchmarks are off
# (the release build runs the examples' tests).
setup_sanitize_build() {
  [ -d build-sanitize ] && return 0
  CXX=clang++ meson setup build-sanitize -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false -Dfuzz=true -Dexamples=false -Dbenchmarks=false >/dev/null ||
    { echo "meson setup build-sanitize failed"; return 1; }
}
