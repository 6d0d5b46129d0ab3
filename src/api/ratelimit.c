/* see tkm_ratelimit.h */
#include "tkm_ratelimit.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16
#define PROBE 8

typedef struct {
    uint8_t key[TKM_RATELIMIT_KEY_MAX];
    uint8_t key_len; /* 0 = empty slot */
    double tokens;
    uint64_t last_ns;
} bucket;

typedef struct {
    pthread_mutex_t mu;
    bucket *slots;
} shard;

struct tkm_ratelimit {
    double rate, burst;
    size_t per_shard;
    uint64_t seed;
    shard shards[SHARDS];
};

/* FNV-1a over seed ‖ key, finished with a 64-bit mixer. */
static uint64_t hash_key(uint64_t seed, const uint8_t *k, size_t n) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= k[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

tkm_rc tkm_ratelimit_new(tkm_ratelimit **out, double rate, double burst, size_t max_clients) {
    TKM_ARG_CHECK(out != NULL);
    *out = NULL;
    TKM_ARG_CHECK(rate > 0 && burst >= 1 && max_clients >= 16 && max_clients <= ((size_t)1 << 24));
    tkm_ratelimit *rl = calloc(1, sizeof *rl);
    TKM_ENSURE(rl, TKM_ERR_NOMEM);
    rl->rate = rate;
    rl->burst = burst;
    rl->per_shard = (max_clients + SHARDS - 1) / SHARDS;
    if (rl->per_shard < PROBE) rl->per_shard = PROBE;
    if (RAND_bytes((unsigned char *)&rl->seed, sizeof rl->seed) != 1) rl->seed = (uint64_t)(uintptr_t)rl;
    for (size_t i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&rl->shards[i].mu, NULL);
        rl->shards[i].slots = calloc(rl->per_shard, sizeof(bucket));
        if (!rl->shards[i].slots) {
            tkm_ratelimit_free(rl);
            TKM_ENSURE(0, TKM_ERR_NOMEM);
        }
    }
    *out = rl;
    return TKM_RC_OK;
}

void tkm_ratelimit_free(tkm_ratelimit *rl) {
    if (!rl) return;
    for (size_t i = 0; i < SHARDS; i++) {
        free(rl->shards[i].slots);
        pthread_mutex_destroy(&rl->shards[i].mu);
    }
    free(rl);
}

int tkm_ratelimit_take(tkm_ratelimit *rl, const uint8_t *key, size_t key_len, double cost,
                       uint64_t now_ns, uint64_t *retry_after_ms) {
    if (retry_after_ms) *retry_after_ms = 0;
    if (key_len > TKM_RATELIMIT_KEY_MAX) key_len = TKM_RATELIMIT_KEY_MAX;
    if (cost < 0) cost = 0;
    uint64_t h = hash_key(rl->seed, key, key_len);
    shard *sh = &rl->shards[h % SHARDS];
    size_t start = (size_t)((h / SHARDS) % rl->per_shard);
    int allowed;
    pthread_mutex_lock(&sh->mu);
    bucket *b = NULL, *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        bucket *s = &sh->slots[(start + i) % rl->per_shard];
        if (s->key_len != 0 && s->key_len == key_len && memcmp(s->key, key, key_len) == 0) {
            b = s;
            break;
        }
        if (s->key_len == 0) {
            if (!victim || victim->key_len != 0) victim = s; /* prefer an empty slot */
        } else if (!victim || (victim->key_len != 0 && s->last_ns < victim->last_ns)) {
            victim = s; /* else the least recently seen */
        }
    }
    if (!b) {
        b = victim;
        memset(b, 0, sizeof *b);
        memcpy(b->key, key, key_len);
        b->key_len = (uint8_t)key_len;
        b->tokens = rl->burst;
        b->last_ns = now_ns;
    }
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rl->rate;
        if (b->tokens > rl->burst) b->tokens = rl->burst;
        b->last_ns = now_ns;
    }
    if (cost <= b->tokens) {
        b->tokens -= cost;
        allowed = 1;
    } else {
        double need = (cost > rl->burst ? rl->burst : cost) - b->tokens;
        if (retry_after_ms) *retry_after_ms = (uint64_t)(need / rl->rate * 1000.0) + 1;
        allowed = 0;
    }
    pthread_mutex_unlock(&sh->mu);
    return allowed;
}
