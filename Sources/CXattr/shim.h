#ifndef PIPELINE_CXATTR_SHIM_H
#define PIPELINE_CXATTR_SHIM_H
/* Extended attributes (libc), which Swift's Glibc module does not bring in: the file object
   store keeps each object's metadata on its own file. */
#include <sys/xattr.h>
#endif
