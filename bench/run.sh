#!/usr/bin/env bash
# pgmesh vs PostgreSQL's own logical replication, same machine, same run. Run by hand; see
# docs/BENCHMARKS.md. Prints a results table and writes bench/out/results-<timestamp>.md.
#
# Knobs (environment): BENCH_SECONDS (30), BENCH_LAT_SECONDS (= BENCH_SECONDS), BENCH_LAT_RATE (200),
# BENCH_CLIENTS (4), BENCH_JOBS (2), BENCH_SCALE (10), BENCH_BIG_ROWS (1000000),
# BENCH_ONLY (ceiling,live,big,latency), BENCH_TARGET_ROWS (adopted|local), BENCH_PROFILE (1),
# BENCH_XMX (256m), BENCH_PG_VERSION (17.5.0), BENCH_TIMEOUT (1800), BENCH_LOCK (/tmp/pgmesh-test.lock),
# BENCH_SKIP_BUILD (0; 1 = use the jar and classes already in target/),
# BENCH_LINK_MS (0; N = a delaying proxy adds N ms each way between the source's side and the target's),
# BENCH_PLACEMENT (target; source = pgmesh runs next to the source and applies across the link),
# BENCH_REF (unset = the working tree; a git ref = export that commit to bench/out/build-<sha> and build it there),
# BENCH_MAIN (io.pgmesh.bench.Bench; io.pgmesh.bench.InitialLoadBench = the initial-load comparison, knobs
# BENCH_SCALE (20), BENCH_INIT_JOBS (2), BENCH_INIT_SLICE_MB (0), BENCH_ROUNDS (5), BENCH_INIT_ONLY (unset),
# BENCH_INIT_JVM_OPTS (more JVM options of the pgmesh process, e.g. a JFR recording), BENCH_PG_VERSION (15.13.0),
# BENCH_PG_BIN (/usr/lib/postgresql/15/bin)).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

# Everything, the build included, runs under the lock other PostgreSQL suites take: the build does
# not rewrite target/classes under a running test, and no other suite disturbs the numbers.
lock="${BENCH_LOCK:-/tmp/pgmesh-test.lock}"
if [ -z "${BENCH_LOCKED:-}" ]; then
  echo "bench: waiting for $lock (other PostgreSQL runs finish first) ..." >&2
  exec env BENCH_LOCKED=1 flock "$lock" "$0" "$@"
fi

if [ -n "${BENCH_REF:-}" ]; then
  # A committed version, exported and built apart from the working tree (which others may be editing).
  commit="$(git rev-parse --verify "${BENCH_REF}^{commit}")"
  build="bench/out/build-$commit"
  if [ ! -f "$build/target/pgmesh.jar" ] || [ ! -f "$build/target/bench-cp.txt" ]; then
    echo "bench: building $BENCH_REF ($commit) in $build ..." >&2
    rm -rf "$build"
    mkdir -p "$build"
    git archive "$commit" | tar -x -C "$build"
    (cd "$build" && mvn -q -B -DskipTests package \
      && mvn -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=runtime)
  fi
  jar="$build/target/pgmesh.jar"
  classes="$build/target/classes"
  cpfile="$build/target/bench-cp.txt"
  version="$commit (clean export of $BENCH_REF)"
else
  if [ "${BENCH_SKIP_BUILD:-0}" = 1 ] && [ -f target/pgmesh.jar ] && [ -f target/bench-cp.txt ]; then
    echo "bench: BENCH_SKIP_BUILD=1, using the existing target/pgmesh.jar and target/classes" >&2
  else
    echo "bench: building target/pgmesh.jar (mvn package) from the working tree ..." >&2
    mvn -q -B -DskipTests package
    mvn -q -B dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=runtime
  fi
  jar="target/pgmesh.jar"
  classes="target/classes"
  cpfile="target/bench-cp.txt"
  version=""
fi
cp="$classes:$(cat "$cpfile")"
rm -rf bench/out/classes
mkdir -p bench/out
# A bench that measures classes only the working tree has says so ("bench: working tree only") and
# is left out when an older commit is measured.
sources=(bench/src/io/pgmesh/bench/*.java)
if [ -n "${BENCH_REF:-}" ]; then
  mapfile -t sources < <(grep -L "bench: working tree only" bench/src/io/pgmesh/bench/*.java)
fi
javac -d bench/out/classes -cp "$cp" -Xlint:all -Xlint:-serial "${sources[@]}"
java -cp "bench/out/classes:$cp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dpgmesh.log.level=WARN \
  -Dbench.jar="$root/$jar" -Dbench.version="$version" "${BENCH_MAIN:-io.pgmesh.bench.Bench}" "$@"
