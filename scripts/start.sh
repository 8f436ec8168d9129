#!/bin/sh
# `npm start` (scripts/start.ts) with its memory settings, README "Performance" → memory. Each can be set by hand:
#   MALLOC_ARENA_MAX   glibc's malloc arenas (default 2): one per thread otherwise, 64 MB reserved each, and the
#                      Temporal core runs a dozen threads: ≈ 115 MB in arenas at idle here, 20–65 MB more RSS
#   NODE_OPTIONS       after the defaults, so that a value of yours wins. Both apply to each V8 heap — the API's
#                      and the workflow thread's: --max-old-space-size=256 (MB; Node's default here is 4 GB, and V8
#                      collects lazily far below it) and --max-semi-space-size=4 (MB of young generation instead
#                      of 16; with 2, a 待办 page's objects outlived two scavenges and filled the old space: 25 %
#                      more CPU per page, README "Performance" → "Young generation"). A 20,000-row .xlsx import needs
#                      ≈ 100 MB of heap at its peak.
#   XUEJI_GC_FLAGS     V8's collector flags (default --single-threaded-gc: no helper threads for marking and
#                      scavenging; on two cores shared with Temporal and Postgres they cost more CPU than they save,
#                      README "Performance" → "Single-threaded GC"); set it empty for V8's own choice
# `exec` replaces this shell, so the app is one process (plus tsx's esbuild helper when a file needs compiling), as
# the bench measures it. `--require tsx/cjs`, not `--import tsx`: the code is CommonJS, and tsx's ESM hooks would run
# on a loader thread of their own — a second V8 isolate, ≈ 13 MB.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=4 ${NODE_OPTIONS:-}"
# XUEJI_NODE_ARGS: flags for node itself that NODE_OPTIONS refuses (the bench's --cpu-prof).
exec node ${XUEJI_GC_FLAGS---single-threaded-gc} ${XUEJI_NODE_ARGS:-} --require tsx/cjs scripts/start.ts "$@"
