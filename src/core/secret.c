/* see tkm_secret.h */
#include "tkm_secret.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#if defined(__SANITIZE_ADDRESS__)
#define TKM_SECRETS_ON_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TKM_SECRETS_ON_HEAP 1
#endif
#endif

struct tkm_secret {
    size_t len;
    uint8_t data[];
};

#define DEFAULT_ARENA ((size_t)8 << 20)
#define MIN_CHUNK 16

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int arena_state; /* 0 = not tried, 1 = locked, 2 = unlocked but allowed, -1 = refused */

static int env_flag(const char *name) {
    const char *v = getenv(name);
    return v && v[0] == '1' && v[1] == 0;
}

static size_t arena_size(size_t want) {
    if (!want) {
        const char *v = getenv("TKM_SECURE_HEAP_BYTES");
        want = DEFAULT_ARENA;
        if (v && *v) {
            char *end = NULL;
            unsigned long long n = strtoull(v, &end, 10);
            if (end && *end == 0 && n >= 65536 && n <= ((unsigned long long)1 << 30)) want = (size_t)n;
        }
    }
    size_t p = 65536;
    while (p < want) p <<= 1;
    return p;
}

tkm_rc tkm_secure_init(size_t arena_bytes, int allow_unlocked) {
    tkm_rc rc = TKM_RC_OK;
    pthread_mutex_lock(&init_lock);
    if (arena_state == 0) {
#ifdef TKM_SECRETS_ON_HEAP
        (void)arena_size;
        (void)arena_bytes;
        (void)allow_unlocked;
        (void)env_flag;
        arena_state = 2;
#else
        int r = CRYPTO_secure_malloc_init(arena_size(arena_bytes), MIN_CHUNK);
        if (r == 1)
            arena_state = 1;
        else if (r == 2)
            arena_state = (allow_unlocked || env_flag("TKM_DONT_MLOCK")) ? 2 : -1;
        else
            arena_state = -1;
#endif
    }
    if (arena_state == -1) {
        tkm_err_detail_set("mlock of the secret arena failed (set TKM_DONT_MLOCK=1 only for tests)");
        rc = TKM_RC(TKM_ERR_MLOCK);
    }
    pthread_mutex_unlock(&init_lock);
    return rc;
}

int tkm_secure_locked(void) { return arena_state == 1; }

void tkm_wipe(void *p, size_t n) {
    if (p && n) OPENSSL_cleanse(p, n);
}

int tkm_ct_eq(const void *a, const void *b, size_t n) {
    if (n == 0) return 1;
    return CRYPTO_memcmp(a, b, n) == 0;
}

static tkm_declassify_fn declassify_hook;

void tkm_declassify(const void *p, size_t n) {
    tkm_declassify_fn fn = __atomic_load_n(&declassify_hook, __ATOMIC_RELAXED);
    if (fn) fn(p, n);
}

void tkm_declassify_set_hook_for_testing(tkm_declassify_fn fn) {
    __atomic_store_n(&declassify_hook, fn, __ATOMIC_RELAXED);
}

static void *arena_alloc(size_t n) {
#ifdef TKM_SECRETS_ON_HEAP
    void *p = calloc(1, n);
    if (p) (void)mlock(p, n);
    return p;
#else
    if (arena_state == 1 || arena_state == 2) {
        void *p = CRYPTO_secure_zalloc(n, __FILE__, __LINE__);
        /* CRYPTO_secure_zalloc falls back to the normal heap if the arena is
         * not initialised; we only ever call it after a successful init. */
        return p;
    }
    return NULL;
#endif
}

static void arena_free(void *p, size_t n) {
#ifdef TKM_SECRETS_ON_HEAP
    OPENSSL_cleanse(p, n);
    (void)munlock(p, n);
    free(p);
#else
    CRYPTO_secure_clear_free(p, n, __FILE__, __LINE__);
#endif
}

tkm_rc tkm_secret_new(tkm_secret **s, size_t len) {
    *s = NULL;
    TKM_ARG_CHECK(len >= 1 && len <= (1u << 20));
    TKM_TRY(tkm_secure_init(0, 0));
    tkm_secret *n = arena_alloc(sizeof *n + len);
    TKM_ENSURE(n, TKM_ERR_NOMEM);
    n->len = len;
    *s = n;
    return TKM_RC_OK;
}

tkm_rc tkm_secret_from(tkm_secret **s, const uint8_t *src, size_t len) {
    TKM_TRY(tkm_secret_new(s, len));
    memcpy((*s)->data, src, len);
    return TKM_RC_OK;
}

void tkm_secret_free(tkm_secret *s) {
    if (!s) return;
    arena_free(s, sizeof *s + s->len);
}

const uint8_t *tkm_secret_ptr(const tkm_secret *s) { return s->data; }
uint8_t *tkm_secret_mut(tkm_secret *s) { return s->data; }
size_t tkm_secret_len(const tkm_secret *s) { return s->len; }

int tkm_secret_eq(const tkm_secret *a, const tkm_secret *b) {
    if (a->len != b->len) return 0;
    return tkm_ct_eq(a->data, b->data, a->len);
}

tkm_rc tkm_harden_process(void) {
    struct rlimit rl = {0, 0};
    TKM_ENSURE(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, TKM_ERR_IO);
    TKM_ENSURE(setrlimit(RLIMIT_CORE, &rl) == 0, TKM_ERR_IO);
    return TKM_RC_OK;
}
