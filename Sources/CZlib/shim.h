#ifndef PIPELINE_CZLIB_SHIM_H
#define PIPELINE_CZLIB_SHIM_H
/* zlib, for the CRC-32 that S3 checksums (x-amz-checksum-crc32) use. */
#include <zlib.h>
#endif
