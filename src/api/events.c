/*
 * events.c: GET /api/v1/events, live updates as Server-Sent Events.
 *
 * DESIGN
 * The one path of every live update: the store announces committed
 * changes (store_subscribe(): on the SQLite writer thread, or on the
 * PostgreSQL listener thread for every node's changes); this file numbers
 * them, keeps the last EVENTS_REPLAY in a ring for Last-Event-ID, and
 * pushes each into the open streams (http_sse_*) whose org and topics
 * match. Pushing never blocks: a stream that falls behind is ended by
 * http/ with an "overflow" event, and its client reconnects and re-reads.
 *
 * Topics: "project.<id>" (a project of the caller's org, else 404) and
 * "projects" (the org's new projects). Ids are numbered from the start
 * time in microseconds, so they grow across restarts and an id from before
 * a restart (or from another node) is outside the ring: such a client gets
 * one "resync" event instead of a replay.
 *
 * Locks: hub->lock (the clients and the ring), then http/'s own. on_close
 * comes from http/ with none of its locks held.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"
#include "project/project.h"

enum {
    EVENTS_MAX_TOPICS = 16,
    EVENTS_TOPIC_MAX = 32,
    EVENTS_PER_USER = 8, /* open streams per user */
    EVENTS_REPLAY = 256, /* events kept for Last-Event-ID */
    EVENTS_TYPE_MAX = 32,
    EVENTS_HEARTBEAT_MS = 15000,
};

#define EVENTS_QUEUE_BYTES ((size_t)256 * 1024) /* per client, before it is dropped */
#define RESYNC_JSON        "{\"type\":\"resync\"}"

struct client {
    struct api_events *hub;
    struct http_sse *ch;
    int64_t org_id, user_id;
    int ntopics;
    char topics[EVENTS_MAX_TOPICS][EVENTS_TOPIC_MAX];
    struct client *prev, *next;
};

struct replay {
    int64_t seq, org_id;
    char *topic, *json; /* malloc'd; NULL: empty slot */
    char type[EVENTS_TYPE_MAX];
};

struct api_events {
    struct store *st;
    pthread_mutex_t lock;
    struct client *clients;
    int64_t seq;                       /* the last id given */
    struct replay ring[EVENTS_REPLAY]; /* event seq in slot seq % EVENTS_REPLAY */
};

/* ---- matching ---- */

/* The event's "type" (first key by convention), else "message". */
static void event_type(const char *json, char out[EVENTS_TYPE_MAX])
{
    static const char prefix[] = "{\"type\":\"";
    strcpy(out, "message");
    if (strncmp(json, prefix, sizeof(prefix) - 1) != 0)
        return;
    const char *p = json + sizeof(prefix) - 1;
    size_t n = 0;
    while (p[n] && p[n] != '"' && n < EVENTS_TYPE_MAX - 1) {
        char c = p[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return;
        n++;
    }
    if (n == 0 || p[n] != '"')
        return;
    memcpy(out, p, n);
    out[n] = '\0';
}

static bool client_wants(const struct client *c, int64_t org_id, const char *topic)
{
    if (org_id == 0 && strcmp(topic, "*") == 0)
        return true; /* resync: for everyone */
    if (c->org_id != org_id)
        return false;
    for (int i = 0; i < c->ntopics; i++)
        if (strcmp(c->topics[i], topic) == 0)
            return true;
    return false;
}

/* ---- delivery (store thread) ---- */

static void
ring_add(struct api_events *hub, int64_t seq, const struct store_event *ev, const char *type)
{
    struct replay *r = &hub->ring[(size_t)seq % EVENTS_REPLAY];
    free(r->topic);
    free(r->json);
    r->topic = strdup(ev->topic);
    r->json = strdup(ev->json);
    if (!r->topic || !r->json) {
        free(r->topic);
        free(r->json);
        r->topic = r->json = NULL; /* a hole: a replay over it becomes a resync */
    }
    r->seq = seq;
    r->org_id = ev->org_id;
    snprintf(r->type, sizeof(r->type), "%s", type);
}

static void on_store_event(void *ctx, const struct store_event *ev)
{
    struct api_events *hub = ctx;
    char type[EVENTS_TYPE_MAX];
    event_type(ev->json, type);
    size_t len = strlen(ev->json);

    pthread_mutex_lock(&hub->lock);
    int64_t seq = ++hub->seq;
    ring_add(hub, seq, ev, type);
    for (struct client *c = hub->clients; c; c = c->next)
        if (client_wants(c, ev->org_id, ev->topic))
            http_sse_push(c->ch, type, seq, ev->json, len); /* a failed one is ending */
    pthread_mutex_unlock(&hub->lock);
}

/*
 * With hub->lock held: the events after `last` the client missed, or one
 * resync when they are no longer all in the ring.
 */
static void replay_locked(struct api_events *hub, struct client *c, int64_t last)
{
    if (last == hub->seq)
        return;
    /* all of (last, seq] still in the ring? (an id from the future is not) */
    bool complete = last < hub->seq && hub->seq - last <= EVENTS_REPLAY;
    for (int64_t seq = last + 1; complete && seq <= hub->seq; seq++) {
        const struct replay *r = &hub->ring[(size_t)seq % EVENTS_REPLAY];
        complete = r->seq == seq && r->json;
    }
    if (!complete) {
        http_sse_push(c->ch, "resync", hub->seq, RESYNC_JSON, sizeof(RESYNC_JSON) - 1);
        return;
    }
    for (int64_t seq = last + 1; seq <= hub->seq; seq++) {
        const struct replay *r = &hub->ring[(size_t)seq % EVENTS_REPLAY];
        if (client_wants(c, r->org_id, r->topic))
            http_sse_push(c->ch, r->type, seq, r->json, strlen(r->json));
    }
}

/* ---- streams ---- */

/* http/: the stream ended (any thread). */
static void client_closed(void *ctx, struct http_sse *ch)
{
    struct client *c = ctx;
    struct api_events *hub = c->hub;
    pthread_mutex_lock(&hub->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&hub->lock);
    http_sse_release(ch);
    free(c);
}

static bool has_topic(const struct client *c, const char *t)
{
    for (int i = 0; i < c->ntopics; i++)
        if (strcmp(c->topics[i], t) == 0)
            return true;
    return false;
}

/* ?topics=project.1,projects: parse and check them; answers itself on failure. */
static int parse_topics_or_reply(struct request *req, struct client *c)
{
    const char *q = http_query(req, "topics");
    if (!q || !*q) {
        reply_invalid(req, "topics", "give one or more topics: project.<id> or projects");
        return -EINVAL;
    }
    const char *p = q;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= EVENTS_TOPIC_MAX) {
            reply_invalid(req, "topics", "unknown topic");
            return -EINVAL;
        }
        char t[EVENTS_TOPIC_MAX];
        memcpy(t, p, n);
        t[n] = '\0';
        p += n + (p[n] == ',');

        if (strcmp(t, "projects") != 0) {
            long long id;
            if (strncmp(t, "project.", 8) != 0 || str_to_int64(str_from(t + 8), &id) < 0 ||
                id <= 0) {
                reply_invalid(req, "topics", "unknown topic '%s'", t);
                return -EINVAL;
            }
            struct store_project project;
            int r =
                project_get(api_app(req)->store, req->principal.org_id, id, &req->arena, &project);
            if (r < 0) {
                reply_errno(req, r); /* another org's project: 404, as for any read */
                return r;
            }
            snprintf(t, sizeof(t), "project.%lld", id); /* canonical: no leading zeros */
        }
        if (has_topic(c, t))
            continue;
        if (c->ntopics == EVENTS_MAX_TOPICS) {
            reply_invalid(req, "topics", "at most %d topics", EVENTS_MAX_TOPICS);
            return -EINVAL;
        }
        memcpy(c->topics[c->ntopics++], t, sizeof(t));
    }
    return 0;
}

int api_events(struct request *req)
{
    struct api_events *hub = api_app(req)->events;
    if (!hub)
        return reply_errno(req, -ERR_UNAVAILABLE);

    struct client *c = calloc(1, sizeof(*c));
    if (!c)
        return reply_errno(req, -ENOMEM);
    c->hub = hub;
    c->org_id = req->principal.org_id;
    c->user_id = req->principal.user_id;
    if (parse_topics_or_reply(req, c) < 0) {
        free(c);
        return HTTP_DONE;
    }
    /* EventSource sends the last id it saw when it reconnects */
    long long last = -1;
    const char *h = http_header(req, "Last-Event-ID");
    if (h && (str_to_int64(str_from(h), &last) < 0 || last < 0))
        last = -1;

    pthread_mutex_lock(&hub->lock);
    int open = 0;
    for (struct client *o = hub->clients; o; o = o->next)
        open += o->user_id == c->user_id;
    if (open >= EVENTS_PER_USER) {
        pthread_mutex_unlock(&hub->lock);
        free(c);
        http_reply_error(req, 429, "too_many_streams", "too many open event streams for this user",
                         NULL);
        return HTTP_DONE;
    }
    struct http_sse_options opt = {
        .max_queued = EVENTS_QUEUE_BYTES,
        .heartbeat_ms = EVENTS_HEARTBEAT_MS,
        .on_close = client_closed,
        .ctx = c,
    };
    int r = http_sse_open(req, &opt, &c->ch);
    if (r < 0) {
        pthread_mutex_unlock(&hub->lock);
        free(c);
        return r == -EALREADY ? HTTP_DONE : reply_errno(req, r);
    }
    if (last >= 0)
        replay_locked(hub, c, last);
    c->next = hub->clients;
    if (hub->clients)
        hub->clients->prev = c;
    hub->clients = c;
    pthread_mutex_unlock(&hub->lock);
    return HTTP_DONE;
}

/* ---- start and stop ---- */

int api_events_start(struct api_app *app)
{
    struct api_events *hub = calloc(1, sizeof(*hub));
    if (!hub)
        return -ENOMEM;
    hub->st = app->store;
    pthread_mutex_init(&hub->lock, NULL);
    hub->seq = clock_now_ms() * 1000;
    int r = store_subscribe(app->store, on_store_event, hub);
    if (r < 0) {
        pthread_mutex_destroy(&hub->lock);
        free(hub);
        return r;
    }
    app->events = hub;
    return 0;
}

void api_events_stop(struct api_app *app)
{
    struct api_events *hub = app->events;
    if (!hub)
        return;
    store_unsubscribe(hub->st, on_store_event, hub);
    app->events = NULL;
    /* http_server_stop() has ended every stream: their on_close ran */
    if (hub->clients)
        return; /* cannot happen; leak rather than free under a live stream */
    for (size_t i = 0; i < EVENTS_REPLAY; i++) {
        free(hub->ring[i].topic);
        free(hub->ring[i].json);
    }
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}
