#ifndef SEPBEAT_CZLIB_SHIM_H
#define SEPBEAT_CZLIB_SHIM_H
#include <zlib.h>

/* `inflateInit2` is a macro (it passes zlib's version and the size of `z_stream`), which Swift cannot
   call: this sets `stream` up to read gzip members only (window bits 15, plus 16 for the gzip wrapper). */
static inline int sepbeat_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}

/* The same for `deflateInit2`: sets `stream` up to write one gzip member at compression `level` (the fuzz
   targets compress their samples in code, so no tool is needed to make them). */
static inline int sepbeat_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
