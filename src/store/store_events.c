/*
 * store_events.c: store_event(), the subscribers, and delivery.
 *
 * DESIGN (the contract is in store.h)
 * - What runs where: store_event() runs inside a unit of work. On SQLite it
 *   copies the event into tx->events, the current op's queue (sqlite.c
 *   hands each op its own and splices it into the batch's once the op's
 *   savepoint is released, or clears it when the op rolled back); the
 *   writer calls store_events_deliver() after COMMIT. On PostgreSQL it
 *   copies it into tx->events too, the transaction's queue (cleared at each
 *   run of a retried transaction); after COMMIT postgres.c publishes the
 *   queue to this node's subscribers (store_events_publish_queue()) and
 *   hands it to its relay thread, which packs the events of many commits
 *   into a few NOTIFY payloads (store_events_pack()) sent in one
 *   transaction of its own, off the hot path. The listener thread of every
 *   node reads them back (store_events_parse_head(), store_events_parse())
 *   and publishes the other nodes' events.
 * - Subscribers sit in a small fixed table under one mutex, held while they
 *   are called: store_unsubscribe() therefore returns only once no call is
 *   running, and events reach every subscriber in one order.
 * - The first store_subscribe() starts the backend's delivery
 *   (ops->events_start: the PostgreSQL listener), so that CLI commands,
 *   which never subscribe, open no LISTEN connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "core/err.h"
#include "store/store_int.h"

enum {
    EVENTS_MAX_SUBSCRIBERS = 16,
    EVENT_TOPIC_MAX = 64,
};

#define RESYNC_JSON "{\"type\":\"resync\",\"truncated\":true}"

struct subscriber {
    store_event_fn fn;
    void *ctx;
};

struct store_events {
    pthread_mutex_t lock;
    struct subscriber subs[EVENTS_MAX_SUBSCRIBERS];
    size_t nsubs;
    bool started; /* ops->events_start ran (or is running) */
};

struct store_event_item {
    struct store_event_item *next;
    int64_t org_id;
    const char *topic; /* inside data[] */
    const char *json;  /* inside data[] */
    char data[];
};

/* ---- life cycle ---- */

int store_events_init(struct store *st)
{
    struct store_events *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    pthread_mutex_init(&ev->lock, NULL);
    st->events = ev;
    return 0;
}

void store_events_free(struct store_events *ev)
{
    if (!ev)
        return;
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

/* ---- queues ---- */

void store_event_queue_init(struct store_event_queue *q)
{
    q->head = NULL;
    q->tail = &q->head;
    q->n = 0;
}

void store_event_queue_splice(struct store_event_queue *dst, struct store_event_queue *src)
{
    if (!src->head)
        return;
    *dst->tail = src->head;
    dst->tail = src->tail;
    dst->n += src->n;
    store_event_queue_init(src);
}

void store_event_queue_clear(struct store_event_queue *q)
{
    for (struct store_event_item *it = q->head, *next; it; it = next) {
        next = it->next;
        free(it);
    }
    store_event_queue_init(q);
}

/* Unlink and free the oldest event; q is not empty. */
static void queue_pop(struct store_event_queue *q)
{
    struct store_event_item *it = q->head;
    q->head = it->next;
    if (!q->head)
        q->tail = &q->head;
    q->n--;
    free(it);
}

size_t store_event_queue_trim(struct store_event_queue *q, size_t max)
{
    size_t dropped = 0;
    for (; q->n > max; dropped++)
        queue_pop(q);
    return dropped;
}

int store_event_queue_push(struct store_event_queue *q,
                           int64_t org_id,
                           const char *topic,
                           const char *json)
{
    size_t tlen = strlen(topic), jlen = strlen(json);
    struct store_event_item *it = malloc(sizeof(*it) + tlen + 1 + jlen + 1);
    if (!it)
        return -ENOMEM;
    it->next = NULL;
    it->org_id = org_id;
    memcpy(it->data, topic, tlen + 1);
    memcpy(it->data + tlen + 1, json, jlen + 1);
    it->topic = it->data;
    it->json = it->data + tlen + 1;
    *q->tail = it;
    q->tail = &it->next;
    q->n++;
    return 0;
}

/* ---- delivery ---- */

static void deliver_locked(struct store_events *ev, const struct store_event *e)
{
    for (size_t i = 0; i < ev->nsubs; i++)
        ev->subs[i].fn(ev->subs[i].ctx, e);
}

void store_events_publish_queue(struct store *st, const struct store_event_queue *q)
{
    struct store_events *ev = st->events;
    if (!ev || !q->head)
        return;
    pthread_mutex_lock(&ev->lock);
    for (const struct store_event_item *it = q->head; it; it = it->next) {
        struct store_event e = { .org_id = it->org_id, .topic = it->topic, .json = it->json };
        deliver_locked(ev, &e);
    }
    pthread_mutex_unlock(&ev->lock);
}

void store_events_deliver(struct store *st, struct store_event_queue *q)
{
    store_events_publish_queue(st, q);
    store_event_queue_clear(q);
}

void store_events_publish(struct store *st, int64_t org_id, const char *topic, const char *json)
{
    struct store_events *ev = st->events;
    if (!ev)
        return;
    struct store_event e = { .org_id = org_id, .topic = topic, .json = json };
    pthread_mutex_lock(&ev->lock);
    deliver_locked(ev, &e);
    pthread_mutex_unlock(&ev->lock);
}

int store_subscribe(struct store *st, store_event_fn fn, void *ctx)
{
    struct store_events *ev = st->events;
    if (!ev || !fn)
        return -EINVAL;
    pthread_mutex_lock(&ev->lock);
    if (ev->nsubs == EVENTS_MAX_SUBSCRIBERS) {
        pthread_mutex_unlock(&ev->lock);
        return -ENOSPC;
    }
    ev->subs[ev->nsubs++] = (struct subscriber){ .fn = fn, .ctx = ctx };
    bool start = !ev->started && st->ops->events_start;
    ev->started = true;
    pthread_mutex_unlock(&ev->lock);

    /* outside the lock: the listener may deliver while it starts */
    int r = start ? st->ops->events_start(st) : 0;
    if (r < 0) {
        pthread_mutex_lock(&ev->lock);
        ev->started = false;
        pthread_mutex_unlock(&ev->lock);
        store_unsubscribe(st, fn, ctx);
    }
    return r;
}

void store_unsubscribe(struct store *st, store_event_fn fn, void *ctx)
{
    struct store_events *ev = st->events;
    if (!ev)
        return;
    pthread_mutex_lock(&ev->lock);
    for (size_t i = 0; i < ev->nsubs; i++) {
        if (ev->subs[i].fn == fn && ev->subs[i].ctx == ctx) {
            memmove(&ev->subs[i], &ev->subs[i + 1], (ev->nsubs - i - 1) * sizeof(ev->subs[0]));
            ev->nsubs--;
            break;
        }
    }
    pthread_mutex_unlock(&ev->lock);
}

/* ---- queueing an event ---- */

static bool topic_ok(const char *topic)
{
    size_t n = topic ? strlen(topic) : 0;
    if (n == 0 || n > EVENT_TOPIC_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = topic[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int store_events_payload(struct buf *out, int64_t org_id, const char *topic, const char *json)
{
    size_t start = out->len;
    buf_addf(out, "%" PRId64 " %s ", org_id, topic);
    size_t head = out->len - start;
    if (head + strlen(json) + 1 > STORE_EVENT_LINE_MAX)
        json = RESYNC_JSON; /* a notice, not a copy of the state: the client re-reads */
    size_t at = out->len;
    buf_adds(out, json);
    /* lines end at '\n': a JSON has no raw newline inside a string, only as white space */
    for (char *p = out->p + at; !out->err && (p = strpbrk(p, "\r\n")) != NULL;)
        *p++ = ' ';
    buf_addch(out, '\n');
    return out->err;
}

int store_events_pack(struct buf *out, uint64_t node, uint64_t seq, struct store_event_queue *q)
{
    buf_addf(out, "N:%016" PRIx64 " %" PRIu64 "\n", node, seq);
    size_t head = out->len;
    while (q->head && !out->err) {
        size_t before = out->len;
        store_events_payload(out, q->head->org_id, q->head->topic, q->head->json);
        if (out->len > STORE_EVENT_PAYLOAD_MAX && before > head) {
            buf_truncate(out, before); /* the next payload's first event */
            break;
        }
        queue_pop(q);
    }
    return out->err;
}

int store_events_parse_head(char *payload, uint64_t *ret_node, char **ret_events)
{
    if (strncmp(payload, "N:", 2) != 0 || strspn(payload + 2, "0123456789abcdef") != 16 ||
        payload[18] != ' ')
        return -EINVAL;
    char *end;
    errno = 0;
    uint64_t node = strtoull(payload + 2, &end, 16);
    if (errno || end != payload + 18)
        return -EINVAL;
    char *nl = strchr(end + 1, '\n');
    if (!nl || nl == end + 1 || strspn(end + 1, "0123456789") != (size_t)(nl - end - 1))
        return -EINVAL; /* the sequence number: only makes payloads unique */
    *ret_node = node;
    *ret_events = nl + 1;
    return 0;
}

int store_events_parse(char **cursor,
                       int64_t *ret_org,
                       const char **ret_topic,
                       const char **ret_json)
{
    char *line = *cursor;
    if (*line == '\0')
        return 0;
    char *nl = strchr(line, '\n');
    if (!nl)
        return -EINVAL;
    if (*line != '-' && (*line < '0' || *line > '9'))
        return -EINVAL; /* strtoll() would skip white space, newlines included */
    char *end;
    errno = 0;
    long long org = strtoll(line, &end, 10);
    if (errno || end == line || *end != ' ')
        return -EINVAL;
    char *topic = end + 1;
    char *sp = memchr(topic, ' ', (size_t)(nl - topic));
    if (!sp || sp == topic || (size_t)(sp - topic) > EVENT_TOPIC_MAX || sp[1] != '{')
        return -EINVAL;
    *sp = '\0';
    *nl = '\0';
    *ret_org = org;
    *ret_topic = topic;
    *ret_json = sp + 1;
    *cursor = nl + 1;
    return 1;
}

int store_event(struct store_tx *tx, int64_t org_id, const char *topic, const char *json)
{
    if (!topic_ok(topic) || !json)
        return -EINVAL;
    if (tx->conn->read_only)
        return -EROFS;
    if (!tx->events)
        return 0; /* no writer batch (SQLite migrations): nobody to tell */
    return store_event_queue_push(tx->events, org_id, topic, json);
}
