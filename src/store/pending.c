/*
 * see tkm_store.h — the record values of prepared requests and policy
 * proposals (docs/store.md "Prepared requests and proposals"). Pure codecs:
 * every fixed-size field is always written (no field depends on another's
 * presence), so the encoding of a struct is unique and decoding is exact.
 */
#include <stdio.h>
#include <string.h>

#include "tkm_store.h"

#define PENDING_VER 1
#define PROPOSAL_VER 1

/* intent flags (u16) */
enum {
    F_CHAIN_ID = 1u << 0,
    F_TO = 1u << 1,
    F_AMOUNT = 1u << 2,
    F_SELECTOR = 1u << 3,
    F_CALLDATA = 1u << 4,
    F_NONCE = 1u << 5,
    F_TD_NAME = 1u << 6,
    F_TD_VERSION = 1u << 7,
    F_TD_CONTRACT = 1u << 8,
    F_MSG_TEXT = 1u << 9,
    F_ALL = (1u << 10) - 1,
};

static tkm_rc bad(const char *what) {
    tkm_err_detail_set("malformed prepared-request or proposal record: %s", what);
    tkm_err_record_where_(__FILE__, __LINE__);
    return TKM_RC(TKM_ERR_STORE_RECORD);
}

/* ---- helpers ---- */

static tkm_rc wr_str(tkm_wr *w, const char *s, size_t max) {
    size_t n = strlen(s);
    TKM_ARG_CHECK(n <= max && max <= UINT16_MAX);
    TKM_TRY(tkm_wr_u16be(w, (uint16_t)n));
    return tkm_wr_put(w, s, n);
}

/* A string of at most max bytes without NUL into out[max + 1]. */
static int rd_str(tkm_rd *r, char *out, size_t max) {
    uint16_t n = 0;
    out[0] = 0;
    if (tkm_failed(tkm_rd_u16be(r, &n)) || n > max) return 0;
    if (tkm_failed(tkm_rd_bytes(r, (uint8_t *)out, n))) return 0;
    out[n] = 0;
    return strlen(out) == n;
}

static tkm_rc wr_u256(tkm_wr *w, const tkm_u256 *v) {
    uint8_t b[32];
    tkm_u256_to_be32(v, b);
    return tkm_wr_put(w, b, 32);
}

static int rd_u256(tkm_rd *r, tkm_u256 *v) {
    uint8_t b[32];
    if (tkm_failed(tkm_rd_bytes(r, b, 32))) return 0;
    tkm_u256_from_be32(v, b);
    return 1;
}

static int rd_u64(tkm_rd *r, uint64_t *v) { return tkm_ok(tkm_rd_u64be(r, v)); }

/* ---- approvals: n (u8) then each sig[65] ‖ expiresAt u64 ‖ signer[20] ---- */

static tkm_rc approvals_encode(tkm_wr *w, const tkm_approval *a, size_t n) {
    TKM_ARG_CHECK(n <= TKM_APPROVALS_MAX);
    TKM_TRY(tkm_wr_u8(w, (uint8_t)n));
    for (size_t i = 0; i < n; i++) {
        TKM_ARG_CHECK(a[i].has_signer && a[i].sig[64] <= 1);
        for (size_t j = 0; j < i; j++) TKM_ARG_CHECK(memcmp(a[j].signer, a[i].signer, TKM_ETH_ADDR_LEN) != 0);
        TKM_TRY(tkm_wr_put(w, a[i].sig, TKM_SECP_SIG_LEN));
        TKM_TRY(tkm_wr_u64be(w, a[i].expires_at));
        TKM_TRY(tkm_wr_put(w, a[i].signer, TKM_ETH_ADDR_LEN));
    }
    return TKM_RC_OK;
}

static tkm_rc approvals_decode(tkm_rd *r, tkm_approval *a, size_t *n) {
    uint8_t cnt = 0;
    *n = 0;
    if (tkm_failed(tkm_rd_u8(r, &cnt)) || cnt > TKM_APPROVALS_MAX) return bad("approval count");
    for (size_t i = 0; i < cnt; i++) {
        tkm_approval *x = &a[i];
        memset(x, 0, sizeof *x);
        if (tkm_failed(tkm_rd_bytes(r, x->sig, TKM_SECP_SIG_LEN)) || x->sig[64] > 1 || !rd_u64(r, &x->expires_at) ||
            tkm_failed(tkm_rd_bytes(r, x->signer, TKM_ETH_ADDR_LEN)))
            return bad("approval");
        x->has_signer = 1;
        /* one approval per signer: the collector replaces an older one */
        for (size_t j = 0; j < i; j++)
            if (memcmp(a[j].signer, x->signer, TKM_ETH_ADDR_LEN) == 0) return bad("two approvals by one signer");
    }
    *n = cnt;
    return TKM_RC_OK;
}

/* ---- intent ---- */

static tkm_rc intent_encode(tkm_wr *w, const tkm_intent *it) {
    TKM_ARG_CHECK(it->payload >= TKM_PAYLOAD_TX && it->payload <= TKM_PAYLOAD_MESSAGE && it->tx_type <= 4 &&
                  (unsigned)it->action <= TKM_ACTION_SIGN_MESSAGE && (unsigned)it->asset_kind <= TKM_ASSET_CONTRACT &&
                  it->msg_head_len <= TKM_POLICY_MSG_PREFIX_MAX && it->msg_len <= TKM_REQUEST_MESSAGE_MAX &&
                  tkm_request_id_ok(it->request_id, strlen(it->request_id)) &&
                  (!it->key_label[0] || tkm_key_label_ok(it->key_label, strlen(it->key_label))) &&
                  it->not_after >= 0);
    unsigned f = (it->has_chain_id ? F_CHAIN_ID : 0) | (it->has_to ? F_TO : 0) | (it->has_amount ? F_AMOUNT : 0) |
                 (it->has_selector ? F_SELECTOR : 0) | (it->has_calldata ? F_CALLDATA : 0) |
                 (it->has_nonce ? F_NONCE : 0) | (it->has_td_name ? F_TD_NAME : 0) |
                 (it->has_td_version ? F_TD_VERSION : 0) | (it->has_td_verifying_contract ? F_TD_CONTRACT : 0) |
                 (it->msg_text ? F_MSG_TEXT : 0);
    TKM_TRY(wr_str(w, it->request_id, TKM_REQUEST_ID_MAX));
    TKM_TRY(wr_str(w, it->key_label, TKM_POLICY_NAME_MAX));
    TKM_TRY(tkm_wr_put(w, it->key, TKM_ETH_ADDR_LEN));
    TKM_TRY(tkm_wr_u8(w, (uint8_t)it->payload));
    TKM_TRY(tkm_wr_u8(w, (uint8_t)it->tx_type));
    TKM_TRY(tkm_wr_u16be(w, (uint16_t)f));
    TKM_TRY(tkm_wr_u64be(w, it->chain_id));
    TKM_TRY(tkm_wr_u8(w, (uint8_t)it->action));
    TKM_TRY(tkm_wr_u8(w, (uint8_t)it->asset_kind));
    TKM_TRY(tkm_wr_put(w, it->asset_contract, TKM_ETH_ADDR_LEN));
    TKM_TRY(tkm_wr_put(w, it->to, TKM_ETH_ADDR_LEN));
    TKM_TRY(wr_u256(w, &it->amount));
    TKM_TRY(wr_u256(w, &it->value));
    TKM_TRY(tkm_wr_put(w, it->selector, 4));
    TKM_TRY(tkm_wr_put(w, it->calldata_hash, TKM_KECCAK256_LEN));
    TKM_TRY(tkm_wr_u64be(w, it->nonce));
    TKM_TRY(tkm_wr_put(w, it->payload_hash, TKM_KECCAK256_LEN));
    TKM_TRY(wr_str(w, it->td_name, TKM_POLICY_TD_STR_MAX));
    TKM_TRY(wr_str(w, it->td_version, TKM_POLICY_TD_STR_MAX));
    TKM_TRY(tkm_wr_put(w, it->td_verifying_contract, TKM_ETH_ADDR_LEN));
    TKM_TRY(wr_str(w, it->td_primary_type, TKM_POLICY_TD_STR_MAX));
    TKM_TRY(tkm_wr_u64be(w, (uint64_t)it->msg_len));
    TKM_TRY(tkm_wr_u16be(w, (uint16_t)it->msg_head_len));
    TKM_TRY(tkm_wr_put(w, it->msg_head, it->msg_head_len));
    return tkm_wr_u64be(w, (uint64_t)it->not_after);
}

static tkm_rc intent_decode(tkm_rd *r, tkm_intent *it) {
    uint8_t payload = 0, tx_type = 0, action = 0, asset_kind = 0;
    uint16_t f = 0, head_len = 0;
    uint64_t msg_len = 0, not_after = 0;
    memset(it, 0, sizeof *it);
    if (!rd_str(r, it->request_id, TKM_REQUEST_ID_MAX) || !tkm_request_id_ok(it->request_id, strlen(it->request_id)))
        return bad("request id");
    if (!rd_str(r, it->key_label, TKM_POLICY_NAME_MAX) ||
        (it->key_label[0] && !tkm_key_label_ok(it->key_label, strlen(it->key_label))))
        return bad("key label");
    if (tkm_failed(tkm_rd_bytes(r, it->key, TKM_ETH_ADDR_LEN)) || tkm_failed(tkm_rd_u8(r, &payload)) ||
        tkm_failed(tkm_rd_u8(r, &tx_type)) || tkm_failed(tkm_rd_u16be(r, &f)))
        return bad("intent header");
    if (payload < TKM_PAYLOAD_TX || payload > TKM_PAYLOAD_MESSAGE || tx_type > 4 || (f & ~F_ALL))
        return bad("payload kind, transaction type or flags");
    it->payload = (tkm_payload_kind)payload;
    it->tx_type = tx_type;
    it->has_chain_id = !!(f & F_CHAIN_ID);
    it->has_to = !!(f & F_TO);
    it->has_amount = !!(f & F_AMOUNT);
    it->has_selector = !!(f & F_SELECTOR);
    it->has_calldata = !!(f & F_CALLDATA);
    it->has_nonce = !!(f & F_NONCE);
    it->has_td_name = !!(f & F_TD_NAME);
    it->has_td_version = !!(f & F_TD_VERSION);
    it->has_td_verifying_contract = !!(f & F_TD_CONTRACT);
    it->msg_text = !!(f & F_MSG_TEXT);
    if (!rd_u64(r, &it->chain_id) || tkm_failed(tkm_rd_u8(r, &action)) || tkm_failed(tkm_rd_u8(r, &asset_kind)))
        return bad("intent chain or action");
    if (action > TKM_ACTION_SIGN_MESSAGE || asset_kind > TKM_ASSET_CONTRACT) return bad("action or asset kind");
    it->action = (tkm_action)action;
    it->asset_kind = (tkm_asset_kind)asset_kind;
    if (tkm_failed(tkm_rd_bytes(r, it->asset_contract, TKM_ETH_ADDR_LEN)) ||
        tkm_failed(tkm_rd_bytes(r, it->to, TKM_ETH_ADDR_LEN)) || !rd_u256(r, &it->amount) || !rd_u256(r, &it->value) ||
        tkm_failed(tkm_rd_bytes(r, it->selector, 4)) || tkm_failed(tkm_rd_bytes(r, it->calldata_hash, 32)) ||
        !rd_u64(r, &it->nonce) || tkm_failed(tkm_rd_bytes(r, it->payload_hash, 32)))
        return bad("intent fields");
    if (!rd_str(r, it->td_name, TKM_POLICY_TD_STR_MAX) || !rd_str(r, it->td_version, TKM_POLICY_TD_STR_MAX) ||
        tkm_failed(tkm_rd_bytes(r, it->td_verifying_contract, TKM_ETH_ADDR_LEN)) ||
        !rd_str(r, it->td_primary_type, TKM_POLICY_TD_STR_MAX))
        return bad("typed-data fields");
    if (!rd_u64(r, &msg_len) || msg_len > TKM_REQUEST_MESSAGE_MAX || tkm_failed(tkm_rd_u16be(r, &head_len)) ||
        head_len > TKM_POLICY_MSG_PREFIX_MAX || tkm_failed(tkm_rd_bytes(r, it->msg_head, head_len)))
        return bad("message fields");
    it->msg_len = (size_t)msg_len;
    it->msg_head_len = head_len;
    if (!rd_u64(r, &not_after) || not_after > INT64_MAX) return bad("notAfter");
    it->not_after = (int64_t)not_after;
    return TKM_RC_OK;
}

/* ---- records ---- */

tkm_rc tkm_store_pending_encode(tkm_wr *w, const tkm_store_pending *p) {
    TKM_ARG_CHECK(p->created >= 0);
    TKM_TRY(tkm_wr_u8(w, PENDING_VER));
    TKM_TRY(intent_encode(w, &p->intent));
    TKM_TRY(tkm_wr_u64be(w, (uint64_t)p->created));
    return approvals_encode(w, p->approvals, p->n_approvals);
}

tkm_rc tkm_store_pending_decode(tkm_store_pending *out, const uint8_t *v, size_t n) {
    tkm_rd r;
    uint8_t ver = 0;
    uint64_t created = 0;
    memset(out, 0, sizeof *out);
    tkm_rd_init(&r, v, n);
    tkm_rc rc = TKM_RC_OK;
    if (tkm_failed(tkm_rd_u8(&r, &ver)) || ver != PENDING_VER) rc = bad("version");
    if (tkm_ok(rc)) rc = intent_decode(&r, &out->intent);
    if (tkm_ok(rc) && (!rd_u64(&r, &created) || created > INT64_MAX)) rc = bad("created");
    if (tkm_ok(rc)) rc = approvals_decode(&r, out->approvals, &out->n_approvals);
    if (tkm_ok(rc) && tkm_failed(tkm_rd_done(&r))) rc = bad("trailing bytes");
    if (tkm_failed(rc)) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->created = (int64_t)created;
    return TKM_RC_OK;
}

tkm_rc tkm_store_proposal_encode(tkm_wr *w, const tkm_store_proposal *p) {
    TKM_ARG_CHECK(p->created >= 0 && p->doc && p->doc_len >= 1 && p->doc_len <= TKM_POLICY_MAX_BYTES &&
                  p->version > p->prev_version);
    TKM_TRY(tkm_wr_u8(w, PROPOSAL_VER));
    TKM_TRY(tkm_wr_u64be(w, p->version));
    TKM_TRY(tkm_wr_put(w, p->hash, 32));
    TKM_TRY(tkm_wr_u64be(w, p->prev_version));
    TKM_TRY(tkm_wr_put(w, p->prev_hash, 32));
    TKM_TRY(tkm_wr_u64be(w, p->expires_at));
    TKM_TRY(tkm_wr_u64be(w, (uint64_t)p->created));
    TKM_TRY(approvals_encode(w, p->approvals, p->n_approvals));
    TKM_TRY(tkm_wr_u32be(w, (uint32_t)p->doc_len));
    return tkm_wr_put(w, p->doc, p->doc_len);
}

tkm_rc tkm_store_proposal_decode(tkm_store_proposal *out, const uint8_t *v, size_t n) {
    tkm_rd r;
    uint8_t ver = 0;
    uint64_t created = 0;
    uint32_t dl = 0;
    const uint8_t *doc = NULL;
    memset(out, 0, sizeof *out);
    tkm_rd_init(&r, v, n);
    tkm_rc rc = TKM_RC_OK;
    if (tkm_failed(tkm_rd_u8(&r, &ver)) || ver != PROPOSAL_VER) rc = bad("proposal version");
    if (tkm_ok(rc) && (!rd_u64(&r, &out->version) || tkm_failed(tkm_rd_bytes(&r, out->hash, 32)) ||
                       !rd_u64(&r, &out->prev_version) || tkm_failed(tkm_rd_bytes(&r, out->prev_hash, 32)) ||
                       !rd_u64(&r, &out->expires_at) || !rd_u64(&r, &created) || created > INT64_MAX ||
                       out->version <= out->prev_version))
        rc = bad("proposal fields");
    if (tkm_ok(rc)) rc = approvals_decode(&r, out->approvals, &out->n_approvals);
    if (tkm_ok(rc) && (tkm_failed(tkm_rd_u32be(&r, &dl)) || dl < 1 || dl > TKM_POLICY_MAX_BYTES ||
                       tkm_failed(tkm_rd_view(&r, dl, &doc))))
        rc = bad("proposal document");
    if (tkm_ok(rc) && tkm_failed(tkm_rd_done(&r))) rc = bad("trailing bytes");
    if (tkm_failed(rc)) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->created = (int64_t)created;
    out->doc = (uint8_t *)(uintptr_t)doc; /* borrowed from v (documented) */
    out->doc_len = dl;
    return TKM_RC_OK;
}
