/*
 * events: Server-Sent Events channels (WHATWG HTML §9.2, text/event-stream).
 *
 * DESIGN
 * A channel is a chunked response from a libmicrohttpd content reader plus
 * a byte queue of event text. Threads:
 *   - the connection's pool thread runs the reader (sse_read): it hands out
 *     queued bytes; when the queue is empty it suspends the connection from
 *     inside the reader (MHD_suspend_connection(), then 0: the suspension
 *     pattern libmicrohttpd documents for content readers) instead of being
 *     polled again;
 *   - any thread pushes (http_sse_push) or closes: it appends under ch->mu
 *     and resumes the connection if the reader suspended it;
 *   - one heartbeat thread per server, started with the first channel,
 *     resumes every second the channels idle for heartbeat_ms, and the
 *     reader then writes ": ping". The ping is also what finds a client
 *     that went away: a suspended connection does not watch its socket.
 * ch->mu is held across MHD_suspend_connection()/MHD_resume_connection()
 * so a resume never overtakes its suspend (as in server.c). Lock order:
 * server->mu, then ch->mu.
 *
 * Life: two references, the caller's (http_sse_release) and the
 * response's (dropped by sse_free, libmicrohttpd's free callback, once the
 * connection is done with the response: stream ended, client gone, or
 * server stopped). sse_free unlinks the channel from the server's list and
 * calls on_close. http_sse_stop_all() (http_server_stop) marks every
 * channel closing and resumes it: the reader ends the stream, so the stop
 * does not wait for its grace, and no connection is left suspended when
 * MHD_stop_daemon() runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "http/http_int.h"

#define SSE_TYPE           "text/event-stream; charset=utf-8"
#define SSE_BLOCK_SIZE     4096
#define SSE_TICK_MS        1000
#define SSE_OVERFLOW_DATA  "{\"type\":\"overflow\"}"
#define SSE_DEFAULT_QUEUED ((size_t)256 * 1024)

struct http_sse {
    pthread_mutex_t mu;
    atomic_int refs;
    struct http_server *server;
    struct MHD_Connection *mhd; /* NULL once the response is gone */

    struct buf out; /* event text not yet sent */
    size_t off;     /* bytes of out already sent */
    size_t max_queued;
    int heartbeat_ms;
    const char *overflow_data;
    int64_t last_out_ms; /* clock_mono_ms() of the last bytes handed out */

    bool suspended; /* by the reader, not yet resumed */
    bool closing;   /* end once out is sent */
    bool ended;     /* the response is gone */

    void (*on_close)(void *ctx, struct http_sse *ch);
    void *ctx;
    struct http_sse *prev, *next; /* server->sse, under server->mu */
};

static void sse_unref(struct http_sse *ch)
{
    if (atomic_fetch_sub(&ch->refs, 1) != 1)
        return;
    buf_release(&ch->out);
    pthread_mutex_destroy(&ch->mu);
    free(ch);
}

void http_sse_release(struct http_sse *ch)
{
    if (ch)
        sse_unref(ch);
}

/* With ch->mu held: let the reader run again. */
static void wake_locked(struct http_sse *ch)
{
    if (ch->suspended && ch->mhd) {
        ch->suspended = false;
        MHD_resume_connection(ch->mhd);
    }
}

/* ---- the reader (connection thread) ---- */

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct http_sse *ch = cls;
    (void)pos;

    pthread_mutex_lock(&ch->mu);
    if (ch->off == ch->out.len) {
        buf_clear(&ch->out);
        ch->off = 0;
        if (ch->closing) {
            pthread_mutex_unlock(&ch->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (clock_mono_ms() - ch->last_out_ms < ch->heartbeat_ms) {
            /* nothing to say: sleep until a push, the heartbeat or the end */
            ch->suspended = true;
            MHD_suspend_connection(ch->mhd);
            pthread_mutex_unlock(&ch->mu);
            return 0;
        }
        buf_adds(&ch->out, ": ping\n\n");
    }
    size_t n = ch->out.len - ch->off;
    if (n > max)
        n = max;
    memcpy(out, ch->out.p + ch->off, n);
    ch->off += n;
    ch->last_out_ms = clock_mono_ms();
    pthread_mutex_unlock(&ch->mu);
    return (ssize_t)n;
}

/* libmicrohttpd is done with the response. */
static void sse_free(void *cls)
{
    struct http_sse *ch = cls;
    struct http_server *s = ch->server;

    pthread_mutex_lock(&s->mu);
    if (ch->prev)
        ch->prev->next = ch->next;
    else if (s->sse == ch)
        s->sse = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    ch->prev = ch->next = NULL;
    pthread_mutex_unlock(&s->mu);

    pthread_mutex_lock(&ch->mu);
    ch->ended = true;
    ch->mhd = NULL;
    ch->suspended = false;
    void (*on_close)(void *, struct http_sse *) = ch->on_close;
    ch->on_close = NULL;
    buf_release(&ch->out);
    ch->off = 0;
    pthread_mutex_unlock(&ch->mu);

    if (on_close)
        on_close(ch->ctx, ch);
    sse_unref(ch);
}

/* ---- the heartbeat thread ---- */

static void *sse_ticker(void *arg)
{
    struct http_server *s = arg;

    pthread_mutex_lock(&s->mu);
    while (!s->sse_stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SSE_TICK_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->sse_tick, &s->mu, &ts);
        int64_t now = clock_mono_ms();
        for (struct http_sse *ch = s->sse; ch; ch = ch->next) {
            pthread_mutex_lock(&ch->mu);
            if (now - ch->last_out_ms >= ch->heartbeat_ms)
                wake_locked(ch);
            pthread_mutex_unlock(&ch->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void http_sse_stop_all(struct http_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->sse_stopping = true;
    for (struct http_sse *ch = s->sse; ch; ch = ch->next) {
        pthread_mutex_lock(&ch->mu);
        ch->closing = true;
        wake_locked(ch);
        pthread_mutex_unlock(&ch->mu);
    }
    bool join = s->sse_ticker_running;
    s->sse_ticker_running = false;
    pthread_cond_broadcast(&s->sse_tick);
    pthread_mutex_unlock(&s->mu);
    if (join)
        pthread_join(s->sse_ticker, NULL);
}

/* ---- the API ---- */

int http_sse_open(struct request *req, const struct http_sse_options *opt, struct http_sse **ret)
{
    struct http_conn *c = req->conn;
    struct http_server *s = c->server;

    struct http_sse *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return -ENOMEM;
    pthread_mutex_init(&ch->mu, NULL);
    atomic_init(&ch->refs, 1); /* the response's until it is created */
    ch->server = s;
    ch->mhd = c->mhd;
    ch->max_queued = opt->max_queued ? opt->max_queued : SSE_DEFAULT_QUEUED;
    ch->heartbeat_ms = opt->heartbeat_ms > 0 ? opt->heartbeat_ms : 15000;
    ch->overflow_data = opt->overflow_data ? opt->overflow_data : SSE_OVERFLOW_DATA;
    ch->last_out_ms = clock_mono_ms();
    buf_init(&ch->out, ch->max_queued + 4096);
    /* sent first: the headers go out with it, and the browser's retry delay */
    buf_addf(&ch->out, "retry: %d\n\n", opt->retry_ms > 0 ? opt->retry_ms : 3000);

    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK_SIZE, sse_read, ch, sse_free);
    if (!resp) {
        sse_unref(ch);
        return -ENOMEM;
    }

    int r = 0;
    pthread_mutex_lock(&s->mu);
    if (s->sse_stopping)
        r = -ERR_UNAVAILABLE;
    else if (!s->sse_ticker_running && pthread_create(&s->sse_ticker, NULL, sse_ticker, s) != 0)
        r = -ENOMEM;
    else
        s->sse_ticker_running = true;
    pthread_mutex_unlock(&s->mu);
    if (r < 0) {
        MHD_destroy_response(resp); /* sse_free (takes s->mu): not linked, no on_close yet */
        return r;
    }

    http_add_header(req, "Cache-Control", "no-store");
    http_add_header(req, "X-Accel-Buffering", "no"); /* nginx: do not buffer the stream */
    /* on failure the response, and with it the channel, is gone already */
    r = http_reply_response(req, 200, SSE_TYPE, resp, 0);
    if (r < 0)
        return r;

    atomic_fetch_add(&ch->refs, 1); /* the caller's */
    pthread_mutex_lock(&s->mu);
    pthread_mutex_lock(&ch->mu);
    ch->on_close = opt->on_close;
    ch->ctx = opt->ctx;
    /* http_sse_stop_all() may have run meanwhile: then end at once */
    if (s->sse_stopping)
        ch->closing = true;
    pthread_mutex_unlock(&ch->mu);
    if (!s->sse_stopping) {
        ch->next = s->sse;
        if (s->sse)
            s->sse->prev = ch;
        s->sse = ch;
    }
    pthread_mutex_unlock(&s->mu);
    *ret = ch;
    return 0;
}

/* Append "field: value\n" for each line of value (an empty value: one line). */
static void add_lines(struct buf *b, const char *field, const char *p, size_t len)
{
    const char *end = p + len;
    do {
        const char *nl = p;
        while (nl < end && *nl != '\n' && *nl != '\r')
            nl++;
        buf_adds(b, field);
        buf_adds(b, ": ");
        buf_add(b, p, (size_t)(nl - p));
        buf_addch(b, '\n');
        if (nl < end && *nl == '\r' && nl + 1 < end && nl[1] == '\n')
            nl++;
        p = nl + 1;
    } while (p < end);
}

int http_sse_push(struct http_sse *ch, const char *event, int64_t id, const char *data, size_t len)
{
    if (event && strpbrk(event, "\r\n"))
        return -EINVAL;
    int r = 0;
    pthread_mutex_lock(&ch->mu);
    if (ch->ended || ch->closing) {
        pthread_mutex_unlock(&ch->mu);
        return -EPIPE;
    }
    if (event)
        buf_addf(&ch->out, "event: %s\n", event);
    if (id >= 0)
        buf_addf(&ch->out, "id: %" PRId64 "\n", id);
    add_lines(&ch->out, "data", data ? data : "", data ? len : 0);
    buf_addch(&ch->out, '\n');
    if (ch->out.err || ch->out.len - ch->off > ch->max_queued) {
        /* too far behind: drop what it has not begun to read, tell it, end */
        size_t keep = ch->off;
        if (keep > 0) {
            /* finish the event the client is in the middle of */
            const char *end = memmem(ch->out.p + keep - 1, ch->out.len - (keep - 1), "\n\n", 2);
            keep = end ? (size_t)(end - ch->out.p) + 2 : ch->out.len;
        }
        buf_truncate(&ch->out, keep);
        ch->out.err = 0;
        buf_adds(&ch->out, "event: overflow\n");
        add_lines(&ch->out, "data", ch->overflow_data, strlen(ch->overflow_data));
        buf_addch(&ch->out, '\n');
        ch->closing = true;
        r = -ENOBUFS;
    }
    wake_locked(ch);
    pthread_mutex_unlock(&ch->mu);
    return r;
}

void http_sse_close(struct http_sse *ch, const char *event, const char *data)
{
    pthread_mutex_lock(&ch->mu);
    if (!ch->ended && !ch->closing) {
        if (event && !strpbrk(event, "\r\n")) {
            buf_addf(&ch->out, "event: %s\n", event);
            add_lines(&ch->out, "data", data ? data : "", data ? strlen(data) : 0);
            buf_addch(&ch->out, '\n');
        }
        ch->closing = true;
        wake_locked(ch);
    }
    pthread_mutex_unlock(&ch->mu);
}
