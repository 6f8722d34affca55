#ifndef SEPBEAT_CLZMA_SHIM_H
#define SEPBEAT_CLZMA_SHIM_H
#include <lzma.h>

/* `LZMA_CONCATENATED` is a macro built with `UINT32_C`, which Swift does not import: this sets `stream`
   (zeroed, as `LZMA_STREAM_INIT` leaves it) up to read .xz streams one after another, as `xz -d` does,
   using at most `memory_limit` bytes. */
static inline lzma_ret sepbeat_lzma_init_xz(lzma_stream *stream, uint64_t memory_limit) {
    return lzma_stream_decoder(stream, memory_limit, LZMA_CONCATENATED);
}
#endif
