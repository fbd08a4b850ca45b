#ifndef PIPELINE_CXATTR_SHIM_H
#define PIPELINE_CXATTR_SHIM_H
/* File system calls of libc that Swift's Glibc module does not bring in: extended attributes
   (the file object store keeps each object's metadata on its own file) and syncfs (it makes
   the objects written together durable with one sync). */
#include <sys/xattr.h>
#include <unistd.h>

int syncfs(int fd);

static inline int pl_syncfs(int fd) { return syncfs(fd); }
#endif
