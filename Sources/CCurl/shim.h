#ifndef PIPELINE_CCURL_SHIM_H
#define PIPELINE_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic; Swift calls these typed wrappers,
   one per argument kind, as swift-corelibs-foundation does. */
typedef size_t (*pl_curl_data_callback)(char *buffer, size_t size, size_t nitems, void *userdata);
typedef int (*pl_curl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                         curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode pl_curl_setopt_long(CURL *h, CURLoption option, long value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode pl_curl_setopt_string(CURL *h, CURLoption option, const char *value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode pl_curl_setopt_pointer(CURL *h, CURLoption option, void *value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode pl_curl_setopt_slist(CURL *h, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode pl_curl_setopt_offset(CURL *h, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode pl_curl_setopt_data_callback(CURL *h, CURLoption option, pl_curl_data_callback cb) {
    return curl_easy_setopt(h, option, cb);
}
static inline CURLcode pl_curl_setopt_xferinfo_callback(CURL *h, pl_curl_xferinfo_callback cb) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb);
}
static inline CURLcode pl_curl_getinfo_long(CURL *h, CURLINFO info, long *value) {
    return curl_easy_getinfo(h, info, value);
}
static inline CURLcode pl_curl_getinfo_offset(CURL *h, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(h, info, value);
}
static inline CURLcode pl_curl_getinfo_double(CURL *h, CURLINFO info, double *value) {
    return curl_easy_getinfo(h, info, value);
}
/* Returned by a read callback to make libcurl fail the transfer. */
static inline size_t pl_curl_readfunc_abort(void) { return CURL_READFUNC_ABORT; }
/* Starts writing back bytes [offset, offset + count) of fd without waiting for them, so a
   later fsync has little left to do (Linux's sync_file_range, declared here because glibc
   shows it only under _GNU_SOURCE; elsewhere nothing). */
#if defined(__linux__) && defined(__GLIBC__)
#include <sys/types.h>
extern int sync_file_range(int fd, __off64_t offset, __off64_t count, unsigned int flags);
static inline int pl_start_writeback(int fd, long long offset, long long count) {
    return sync_file_range(fd, offset, count, 2 /* SYNC_FILE_RANGE_WRITE */);
}
#else
static inline int pl_start_writeback(int fd, long long offset, long long count) { return 0; }
#endif

#endif
