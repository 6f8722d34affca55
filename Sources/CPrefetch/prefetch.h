#ifndef SEPBEAT_CPREFETCH_H
#define SEPBEAT_CPREFETCH_H

#include <stddef.h>
#include <stdint.h>

/* Swift has no prefetch instruction of its own. This asks the processor to start loading every 64-byte
   cache line of the `count` bytes at `start` for reading, to be kept in every cache level. Only a hint: it
   never faults, so any address will do. Written in C so that the loop stays a few instructions a line. */
static inline void sepbeat_prefetch(const void *start, ptrdiff_t count) {
    uintptr_t line = (uintptr_t)start & ~(uintptr_t)63;
    uintptr_t end = (uintptr_t)start + (uintptr_t)(count > 0 ? count : 0);
    for (; line < end; line += 64) {
        __builtin_prefetch((const void *)line, 0, 3);
    }
}

#endif
