#ifndef CLIBWEBSOCKETS_SHIM_H
#define CLIBWEBSOCKETS_SHIM_H
#include <libwebsockets.h>
#include <malloc.h>

/* LWS_PRE is a macro expression Swift cannot import. */
static inline size_t chub_lws_pre(void) { return LWS_PRE; }

/* lwsl_* are variadic macros; these take an already formatted string. */
static inline void chub_lwsl_err(const char *s) { lwsl_err("%s\n", s); }
static inline void chub_lwsl_warn(const char *s) { lwsl_warn("%s\n", s); }
static inline void chub_lwsl_notice(const char *s) { lwsl_notice("%s\n", s); }
static inline void chub_lwsl_user(const char *s) { lwsl_user("%s\n", s); }

/* glibc's malloc_trim is not in Swift's Glibc module; the hub returns freed heap with it
   after a mass disconnect. */
static inline int chub_malloc_trim(void) { return malloc_trim(0); }

#endif
