# attack: kernel-facing syscalls a container must not reach: bpf, perf_event_open, keyctl, kexec,
#   modules, reboot, swap, acct, open_by_handle_at
# category: privilege
# expect: graded, score 0; every one fails with EPERM or ENOSYS (blocked before doing anything)
# detail: /output/predictions.csv was not written
# stdout: PROBE-COMPLETE
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
buffer = ctypes.create_string_buffer(256)
CALLS = {  # x86_64 numbers, harmless arguments
    "bpf": (321, 0, buffer, 128), "perf_event_open": (298, buffer, 0, -1, -1, 0),
    "keyctl": (250, 0, 0, 0, 0, 0), "add_key": (248, b"user", b"k", b"v", 1, -2),
    "request_key": (249, b"user", b"k", None, 0), "kexec_load": (246, 0, 0, None, 0),
    "kexec_file_load": (320, -1, -1, 0, None, 0), "init_module": (175, buffer, 0, b""),
    "finit_module": (313, -1, b"", 0), "delete_module": (176, b"heldout", 0),
    "reboot": (169, 0, 0, 0, None), "swapon": (167, b"/tmp/swap", 0),
    "swapoff": (168, b"/tmp/swap"), "acct": (163, b"/tmp/acct"),
    "open_by_handle_at": (304, -100, buffer, 0), "syslog": (103, 3, buffer, 256),
    "iopl": (172, 3), "ioperm": (173, 0, 1024, 1), "sethostname": (170, b"x", 1),
    "lookup_dcookie": (212, 0, buffer, 256), "quotactl": (179, 0, None, 0, None),
    "fanotify_init": (300, 0, 0), "vhangup": (153,), "mbind": (237, 0, 0, 0, None, 0, 0),
}
for name, (number, *args) in CALLS.items():
    result = libc.syscall(number, *args)
    err = ctypes.get_errno()
    if result >= 0:
        print(f"BREACH: {name} succeeded ({result})")
    elif err in (errno.EPERM, errno.ENOSYS, errno.EACCES):
        print(f"blocked: {name} ({errno.errorcode[err]})")
    else:
        print(f"BREACH: {name} reached the kernel ({errno.errorcode.get(err, err)})")
print("PROBE-COMPLETE", flush=True)
