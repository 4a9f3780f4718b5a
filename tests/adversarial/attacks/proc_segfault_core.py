# attack: tries to raise its core-dump limit, moves to /output and segfaults, hoping for a core
#   file (process memory) in the collected output
# category: processes
# expect: graded, score 0; the core limit can't be raised, no core file is written: killed by
#   SIGSEGV with nothing in /output
# detail: killed by SIGSEGV
# run: signal=11 output_bytes=0
# stdout: core limit: \(0, 0\)
import ctypes
import os
import resource

try:
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    print("BREACH: raised the core-dump limit")
except (ValueError, OSError):
    pass
print("core limit:", resource.getrlimit(resource.RLIMIT_CORE), flush=True)
os.chdir("/output")
ctypes.string_at(0)
