#ifndef SEPBEAT_CPCAP_SHIM_H
#define SEPBEAT_CPCAP_SHIM_H
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* glibc's `fopencookie` and its `cookie_io_functions_t`, which <stdio.h> declares only under
   _GNU_SOURCE (Swift's Glibc module is built without it): the same four function pointers in the
   same order, and the same symbol. A stream made so reads through `read`; the others may be NULL. */
typedef struct {
    ssize_t (*read)(void *cookie, char *buffer, size_t size);
    ssize_t (*write)(void *cookie, const char *buffer, size_t size);
    int (*seek)(void *cookie, int64_t *position, int whence);
    int (*close)(void *cookie);
} sepbeat_cookie_functions;

FILE *sepbeat_fopencookie(void *cookie, const char *mode, sepbeat_cookie_functions functions)
    __asm__("fopencookie");
#endif
