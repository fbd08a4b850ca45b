#ifndef PIPELINE_CCRYPTO_SHIM_H
#define PIPELINE_CCRYPTO_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* EVP_MAX_MD_SIZE and OPENSSL_VERSION are macros; these give Swift typed access. */
static inline int pl_evp_max_md_size(void) { return EVP_MAX_MD_SIZE; }
static inline const char *pl_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }
#endif
