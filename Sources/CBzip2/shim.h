#ifndef SEPBEAT_CBZIP2_SHIM_H
#define SEPBEAT_CBZIP2_SHIM_H
#include <bzlib.h>
#endif
