#ifndef SEPBEAT_CZLIB_SHIM_H
#define SEPBEAT_CZLIB_SHIM_H
#include <zlib.h>

/* `inflateInit2` is a macro (it passes zlib's version and the size of `z_stream`), which Swift cannot
   call: this sets `stream` up to read gzip members only (window bits 15, plus 16 for the gzip wrapper). */
static inline int sepbeat_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
