"""Opt-in allocator tuning for large batches (glibc only). Not part of the engine: makemore's
--tune-malloc and the benchmark's --malloc-tuned rows call it; minigrad never does.

A training step frees and reallocates the same few-MiB temporaries every step. With glibc's
defaults, from batch 256 up those blocks go back to the OS on free and come back as fresh,
zeroed pages on the next step: thousands of page faults per step. `tune_malloc()` raises
two thresholds so the process keeps and reuses that memory. It changes the whole process's
allocator, which a library must not do behind a user's back, so it is a function you call
(or `python -m models.makemore train --tune-malloc`), never an import side effect.
"""

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers from <malloc.h>


def tune_malloc():
    """Keep freed memory inside the process instead of giving it back to the OS.

    By default glibc serves blocks above a (dynamic) mmap threshold with fresh mmap calls and
    trims the heap top when more than the trim threshold is free. A training step frees and
    reallocates the same few-MiB temporaries every step, so from batch 256 up each step
    page-faults new zeroed pages (about 4,750 faults per step at 4096 x 200). Raising both
    thresholds makes the allocator reuse those pages: numpy ran 2.2-3.4x faster at large
    batches on a 2-core machine (docs/speed.md). 32 MiB is the largest mmap threshold glibc
    accepts on 64-bit; 1 GiB of free heap top is never trimmed here. Opt-in only: it changes
    the process, not the code.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    for param, value in ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, 1 << 30)):
        if libc.mallopt(param, value) != 1:  # mallopt returns 1 on success
            raise RuntimeError(f"mallopt({param}, {value}) failed: not glibc?")
