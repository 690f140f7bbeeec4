#ifndef CLIBCRYPTO_SHIM_H
#define CLIBCRYPTO_SHIM_H
// OpenSSL's libcrypto: installed and linked already as a dependency of libwebsockets and
// libpq; only its digest API is used.
#include <openssl/evp.h>
#endif
