/*
 * loadgen: virtual annotators against a running annotd.
 *
 * DESIGN
 * One thread, one epoll set, raw non-blocking sockets speaking keep-alive
 * HTTP/1.1 (no libcurl: a connection costs a few hundred bytes here, so
 * 10,000 of them stay cheap on the same two cores as the server).
 *
 * Each virtual annotator (VA) owns one connection and one token and loops
 *   POST /api/v1/projects/{id}/next          (claim; 204 = project exhausted)
 *   [PUT /api/v1/assignments/{aid}/draft]    (--drafts)
 *   [POST /api/v1/assignments/{aid}/heartbeat] (every --heartbeat-every claims)
 *   POST /api/v1/assignments/{aid}/submit
 * until --duration elapses or every VA has seen 204.
 *
 * Closed loop by default: a VA claims again as soon as its submit returns.
 * With --rate R the claims are scheduled open-loop at R per second; a claim
 * whose VA is still busy waits in a queue, and its latency is counted from
 * the time it was scheduled (no coordinated omission).
 *
 * --idle-connections N opens N more connections before the work starts,
 * sends each one GET /healthz, and then leaves them idle for the whole run
 * (the "10,000 keep-alive connections" case); --server-pid P reads the
 * server's VmRSS before they open, once they are all answered, and at the end.
 *
 * --get PATH instead times --requests sequential GETs on one connection
 * (page and count latency).
 *
 * Output: a text table on stdout and one JSON line starting with
 * "RESULT " (for scripts).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

struct options {
    struct sockaddr_in addr;
    char host[64];
    long project;
    const char *tokens_file;
    int concurrency;
    double duration;
    bool drafts;
    int heartbeat_every;
    int idle;
    double rate;
    long server_pid;
    const char *get_path;
    int requests;
    const char *label;
};

static const char usage[] =
    "usage: loadgen --url http://127.0.0.1:PORT --tokens FILE [options]\n"
    "\n"
    "  --url URL              server (IPv4 literal, http only)\n"
    "  --project ID           project to work (default 1)\n"
    "  --tokens FILE          bearer tokens, one per line (one per virtual annotator)\n"
    "  --concurrency V        virtual annotators (default 64)\n"
    "  --duration S           seconds of load (default 10)\n"
    "  --drafts               PUT a draft between claim and submit\n"
    "  --heartbeat-every N    send a heartbeat after every Nth claim (default 0: never)\n"
    "  --idle-connections N   hold N extra idle keep-alive connections during the run\n"
    "  --rate R               open loop: schedule R claims per second\n"
    "  --server-pid PID       report the server's VmRSS (before/after idle connections, end)\n"
    "  --get PATH             time sequential GETs of PATH instead (with the first token)\n"
    "  --requests N           GETs to time with --get (default 200, after 10 warm-ups)\n"
    "  --label TEXT           name of the run in the output\n";

/* ------------------------------------------------------------------------ */
/* Time and samples                                                         */
/* ------------------------------------------------------------------------ */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

enum action { ACT_CLAIM, ACT_DRAFT, ACT_HEARTBEAT, ACT_SUBMIT, ACT_GET, ACT_MAX };

static const char *const action_names[ACT_MAX] = { "claim", "draft", "heartbeat", "submit", "get" };

struct stat_set {
    float *lat_us; /* one sample per answered request */
    size_t n, cap;
    long ok, http_errors, transport_errors;
    long status_count[6]; /* by first digit */
    int last_error_status;
    char last_error_body[160];
    double max_us, max_at_us; /* the slowest request and when it was due */
};

static struct stat_set stats[ACT_MAX];

static double t_begin;

static void stat_add(struct stat_set *s, double us, double due)
{
    if (us > s->max_us) {
        s->max_us = us;
        s->max_at_us = due - t_begin;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        float *p = realloc(s->lat_us, cap * sizeof(*p));
        if (!p) {
            fprintf(stderr, "loadgen: out of memory for samples\n");
            exit(2);
        }
        s->lat_us = p;
        s->cap = cap;
    }
    s->lat_us[s->n++] = (float)us;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in ms. */
static double pct_ms(const struct stat_set *s, double p)
{
    if (!s->n)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (i < 1)
        i = 1;
    if (i > s->n)
        i = s->n;
    return s->lat_us[i - 1] / 1000.0;
}

/* ------------------------------------------------------------------------ */
/* Connections                                                              */
/* ------------------------------------------------------------------------ */

enum conn_kind { CONN_WORKER, CONN_IDLE };
enum va_step { STEP_CLAIM, STEP_DRAFT, STEP_HEARTBEAT, STEP_SUBMIT, STEP_DONE };

struct conn {
    int fd;
    enum conn_kind kind;
    bool connected, busy, want_out, closed;
    /* request */
    char *wbuf;
    size_t wlen, woff, wcap;
    /* response */
    char *rbuf;
    size_t rlen, rcap;
    /* worker only */
    const char *token;
    enum va_step step;
    enum action action;
    double t_sched; /* when the current action was due (latency origin) */
    double t_claim_sched;
    long assignment;
    long claims;
    bool waiting; /* open loop: idle, waiting for a scheduled claim */
};

static struct options opt;
static int ep = -1;
static struct conn *workers;
static struct conn *idles;
static int n_workers_done; /* VAs that saw 204 */
static bool stopping;      /* duration elapsed: start nothing new */
static bool exhausted;     /* a claim answered 204 */
static long inflight;
static long idle_answered, idle_closed, idle_failed;
static double t_last_done;

/* open loop: scheduled claims not yet started, as their due times */
static double *due_queue;
static size_t due_head, due_tail, due_cap;

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void ep_set(struct conn *c, bool out)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
                              .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl");
    c->want_out = out;
}

static int conn_open(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (c->kind == CONN_IDLE) {
        int small = 4096; /* keep the client's side of 10k sockets small */
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    }
    int r = connect(c->fd, (struct sockaddr *)&opt.addr, sizeof(opt.addr));
    if (r < 0 && errno != EINPROGRESS) {
        r = -errno;
        close(c->fd);
        c->fd = -1;
        return r;
    }
    c->connected = false;
    c->closed = false;
    c->rlen = 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl add");
    c->want_out = true;
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->connected = false;
    c->closed = true;
}

static void buf_need(char **p, size_t *cap, size_t want)
{
    if (want <= *cap)
        return;
    size_t n = *cap ? *cap : 1024;
    while (n < want)
        n *= 2;
    char *q = realloc(*p, n);
    if (!q) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(2);
    }
    *p = q;
    *cap = n;
}

/* Write what we can; 0 when all is written or waiting for EPOLLOUT, < 0 on error. */
static int conn_flush(struct conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN)
                break;
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c->woff += (size_t)n;
    }
    bool out = c->woff < c->wlen;
    if (out != c->want_out)
        ep_set(c, out);
    return 0;
}

static void conn_request(struct conn *c, const char *method, const char *path, const char *body)
{
    size_t blen = body ? strlen(body) : 0;
    buf_need(&c->wbuf, &c->wcap, 512 + strlen(path) + blen + (c->token ? strlen(c->token) : 0));
    int n = snprintf(c->wbuf, c->wcap,
                     "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%sContent-Length: %zu\r\n\r\n%s", method,
                     path, opt.host, c->token ? "Authorization: Bearer " : "",
                     c->token ? c->token : "", c->token ? "\r\n" : "",
                     body ? "Content-Type: application/json\r\n" : "", blen, body ? body : "");
    c->wlen = (size_t)n;
    c->woff = 0;
    c->busy = true;
    if (c->connected)
        conn_flush(c);
}

/* ------------------------------------------------------------------------ */
/* HTTP/1.1 response parsing (enough for annotd)                             */
/* ------------------------------------------------------------------------ */

struct response {
    int status;
    bool close;
    const char *body;
    size_t body_len;
    size_t total; /* bytes of rbuf this response used */
};

static const char *find_header(const char *h, size_t hlen, const char *name)
{
    size_t nl = strlen(name);
    const char *p = h, *end = h + hlen;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return NULL;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

/*
 * 1 and *ret when rbuf holds a whole response, 0 when more is needed,
 * -1 when it cannot be parsed. Chunked bodies are decoded in place.
 */
static int parse_response(struct conn *c, struct response *ret)
{
    char *b = c->rbuf;
    if (!b || c->rlen < 12)
        return 0;
    char *eoh = memmem(b, c->rlen, "\r\n\r\n", 4);
    if (!eoh)
        return c->rlen > 65536 ? -1 : 0;
    size_t hlen = (size_t)(eoh - b) + 4;
    if (strncmp(b, "HTTP/1.", 7) != 0)
        return -1;
    int status = atoi(b + 9);
    const char *cl = find_header(b, hlen, "Content-Length");
    const char *te = find_header(b, hlen, "Transfer-Encoding");
    const char *conn = find_header(b, hlen, "Connection");
    ret->status = status;
    ret->close = conn && strncasecmp(conn, "close", 5) == 0;
    if (te && strncasecmp(te, "chunked", 7) == 0) {
        /* first make sure every chunk is here, then decode in place */
        size_t in = hlen;
        for (;;) {
            char *crlf = memmem(b + in, c->rlen - in, "\r\n", 2);
            if (!crlf)
                return 0;
            size_t sz = strtoul(b + in, NULL, 16);
            size_t data = (size_t)(crlf - b) + 2;
            if (c->rlen < data + sz + 2)
                return 0;
            in = data + sz + 2;
            if (sz == 0)
                break; /* no trailers from annotd */
        }
        size_t total = in, out = hlen;
        in = hlen;
        for (;;) {
            char *crlf = memmem(b + in, total - in, "\r\n", 2);
            size_t sz = strtoul(b + in, NULL, 16);
            size_t data = (size_t)(crlf - b) + 2;
            if (sz == 0)
                break;
            memmove(b + out, b + data, sz); /* out <= data: safe */
            out += sz;
            in = data + sz + 2;
        }
        ret->body = b + hlen;
        ret->body_len = out - hlen;
        ret->total = total;
        return 1;
    }
    size_t blen = cl ? strtoul(cl, NULL, 10) : 0;
    if (c->rlen < hlen + blen)
        return 0;
    ret->body = b + hlen;
    ret->body_len = blen;
    ret->total = hlen + blen;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Virtual annotators                                                       */
/* ------------------------------------------------------------------------ */

static const char submit_body[] = "{\"result\":{\"classes\":[\"pos\"]}}";
static const char draft_body[] = "{\"result\":{\"classes\":[\"neg\"]}}";

static void va_send(struct conn *c, enum action a)
{
    char path[128];
    c->action = a;
    switch (a) {
    case ACT_CLAIM:
        snprintf(path, sizeof(path), "/api/v1/projects/%ld/next", opt.project);
        conn_request(c, "POST", path, NULL);
        break;
    case ACT_DRAFT:
        snprintf(path, sizeof(path), "/api/v1/assignments/%ld/draft", c->assignment);
        conn_request(c, "PUT", path, draft_body);
        break;
    case ACT_HEARTBEAT:
        snprintf(path, sizeof(path), "/api/v1/assignments/%ld/heartbeat", c->assignment);
        conn_request(c, "POST", path, NULL);
        break;
    case ACT_SUBMIT:
        snprintf(path, sizeof(path), "/api/v1/assignments/%ld/submit", c->assignment);
        conn_request(c, "POST", path, submit_body);
        break;
    case ACT_GET:
        conn_request(c, "GET", opt.get_path, NULL);
        break;
    case ACT_MAX:
        break;
    }
    inflight++;
}

/* Start the VA's next claim now (closed loop) or when one is due (open loop). */
static void va_next_claim(struct conn *c, double now)
{
    c->step = STEP_CLAIM;
    if (stopping || exhausted) {
        c->step = STEP_DONE;
        return;
    }
    if (opt.rate > 0) {
        if (due_head == due_tail) {
            c->waiting = true;
            return;
        }
        c->t_sched = due_queue[due_head++ % due_cap];
    } else {
        c->t_sched = now;
    }
    c->waiting = false;
    c->t_claim_sched = c->t_sched;
    va_send(c, ACT_CLAIM);
}

static void va_continue(struct conn *c, double now)
{
    enum va_step next;
    switch (c->step) {
    case STEP_CLAIM:
        next = opt.drafts                                                    ? STEP_DRAFT
               : opt.heartbeat_every && c->claims % opt.heartbeat_every == 0 ? STEP_HEARTBEAT
                                                                             : STEP_SUBMIT;
        break;
    case STEP_DRAFT:
        next = opt.heartbeat_every && c->claims % opt.heartbeat_every == 0 ? STEP_HEARTBEAT
                                                                           : STEP_SUBMIT;
        break;
    case STEP_HEARTBEAT:
        next = STEP_SUBMIT;
        break;
    default:
        va_next_claim(c, now);
        return;
    }
    c->step = next;
    c->t_sched = now;
    va_send(c, next == STEP_DRAFT       ? ACT_DRAFT
               : next == STEP_HEARTBEAT ? ACT_HEARTBEAT
                                        : ACT_SUBMIT);
}

static void record_error(struct stat_set *s, const struct response *r)
{
    s->http_errors++;
    s->last_error_status = r->status;
    size_t n =
        r->body_len < sizeof(s->last_error_body) - 1 ? r->body_len : sizeof(s->last_error_body) - 1;
    memcpy(s->last_error_body, r->body, n);
    s->last_error_body[n] = 0;
}

static void va_answered(struct conn *c, const struct response *r, double now)
{
    struct stat_set *s = &stats[c->action];
    stat_add(s, now - c->t_sched, c->t_sched);
    if (r->status >= 100 && r->status < 600)
        s->status_count[r->status / 100]++;
    inflight--;
    t_last_done = now;

    switch (c->action) {
    case ACT_CLAIM:
        if (r->status == 204) {
            s->ok++;
            exhausted = true;
            c->step = STEP_DONE;
            n_workers_done++;
            return;
        }
        if (r->status == 200) {
            /* {"assignment":{"id":N,... */
            const char *p = memmem(r->body, r->body_len, "\"assignment\":{\"id\":", 19);
            if (p) {
                s->ok++;
                c->assignment = strtol(p + 19, NULL, 10);
                c->claims++;
                va_continue(c, now);
                return;
            }
        }
        record_error(s, r);
        va_next_claim(c, now);
        return;
    case ACT_DRAFT:
    case ACT_HEARTBEAT:
        if (r->status == 200)
            s->ok++;
        else
            record_error(s, r);
        va_continue(c, now);
        return;
    case ACT_SUBMIT:
        if (r->status == 201)
            s->ok++;
        else
            record_error(s, r);
        va_next_claim(c, now);
        return;
    case ACT_GET:
        if (r->status == 200)
            s->ok++;
        else
            record_error(s, r);
        return;
    case ACT_MAX:
        return;
    }
}

/* The connection broke: count it, reconnect, and redo the step. */
static void worker_broken(struct conn *c, double now)
{
    if (c->busy) {
        stats[c->action].transport_errors++;
        inflight--;
        c->busy = false;
    }
    conn_close(c);
    if (conn_open(c) < 0) {
        c->step = STEP_DONE;
        n_workers_done++;
        return;
    }
    if (c->step == STEP_DONE)
        return;
    if (c->step == STEP_CLAIM) {
        va_next_claim(c, now);
    } else {
        c->t_sched = now;
        va_send(c, c->action);
    }
}

/* ------------------------------------------------------------------------ */
/* Event handling                                                           */
/* ------------------------------------------------------------------------ */

static void on_connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        errno = err;
        if (c->kind == CONN_IDLE) {
            idle_failed++;
            conn_close(c);
            return;
        }
        die("connect");
    }
    c->connected = true;
    if (c->busy)
        conn_flush(c);
    else
        ep_set(c, false);
}

static void on_readable(struct conn *c, double now)
{
    for (;;) {
        buf_need(&c->rbuf, &c->rcap, c->rlen + 4096);
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen - 1, 0);
        if (n < 0) {
            if (errno == EAGAIN)
                break;
            if (errno == EINTR)
                continue;
            n = 0; /* reset: treat as closed */
        }
        if (n == 0) {
            if (c->kind == CONN_IDLE) {
                idle_closed++;
                conn_close(c);
            } else {
                worker_broken(c, now);
            }
            return;
        }
        c->rlen += (size_t)n;
        c->rbuf[c->rlen] = 0;
        if ((size_t)n < 4096)
            break;
    }
    for (;;) {
        struct response r;
        int p = parse_response(c, &r);
        if (p < 0) {
            fprintf(stderr, "loadgen: unparsable response\n");
            if (c->kind == CONN_WORKER)
                worker_broken(c, now);
            else
                conn_close(c);
            return;
        }
        if (p == 0)
            return;
        bool close_after = r.close;
        c->busy = false;
        if (c->kind == CONN_IDLE) {
            idle_answered++;
        } else {
            va_answered(c, &r, now);
        }
        memmove(c->rbuf, c->rbuf + r.total, c->rlen - r.total);
        c->rlen -= r.total;
        if (close_after) {
            if (c->kind == CONN_IDLE) {
                idle_closed++;
                conn_close(c);
            } else {
                /* reopen; a request already queued is resent on connect */
                bool was_busy = c->busy;
                conn_close(c);
                if (conn_open(c) < 0)
                    die("reconnect");
                if (was_busy) {
                    c->woff = 0;
                    c->busy = true;
                }
            }
            return;
        }
    }
}

static void on_event(struct epoll_event *ev, double now)
{
    struct conn *c = ev->data.ptr;
    if (c->fd < 0)
        return;
    if (!c->connected && (ev->events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        on_connected(c);
        if (c->fd < 0 || !c->connected)
            return;
    } else if (ev->events & EPOLLOUT) {
        if (conn_flush(c) < 0) {
            if (c->kind == CONN_WORKER)
                worker_broken(c, now);
            else
                conn_close(c);
            return;
        }
    }
    if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        on_readable(c, now);
}

static int poll_once(int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, timeout_ms);
    if (n < 0 && errno != EINTR)
        die("epoll_wait");
    double now = now_us();
    for (int i = 0; i < n; i++)
        on_event(&evs[i], now);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */
/* ------------------------------------------------------------------------ */

static char **load_tokens(const char *path, int *ret_n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(path);
    char **v = NULL;
    int n = 0, cap = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, (size_t)cap * sizeof(*v));
            if (!v)
                die("realloc");
        }
        v[n++] = strdup(line);
    }
    fclose(f);
    *ret_n = n;
    return v;
}

static int parse_url(const char *url)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    const char *colon = strchr(p, ':');
    size_t hl = colon ? (size_t)(colon - p) : strcspn(p, "/");
    if (hl == 0 || hl >= sizeof(opt.host))
        return -1;
    memcpy(opt.host, p, hl);
    opt.host[hl] = 0;
    long port = colon ? strtol(colon + 1, NULL, 10) : 80;
    if (port <= 0 || port > 65535)
        return -1;
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, strcmp(opt.host, "localhost") == 0 ? "127.0.0.1" : opt.host,
                  &opt.addr.sin_addr) != 1)
        return -1;
    return 0;
}

static long read_rss_kb(long pid)
{
    if (pid <= 0)
        return -1;
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Open the idle connections in waves and wait until each has been answered. */
static void open_idle(void)
{
    if (!opt.idle)
        return;
    idles = calloc((size_t)opt.idle, sizeof(*idles));
    if (!idles)
        die("calloc");
    const int wave = 500;
    double deadline = now_us() + 60e6;
    for (int i = 0; i < opt.idle; i += wave) {
        for (int j = i; j < i + wave && j < opt.idle; j++) {
            struct conn *c = &idles[j];
            c->kind = CONN_IDLE;
            c->fd = -1;
            if (conn_open(c) < 0) {
                idle_failed++;
                continue;
            }
            conn_request(c, "GET", "/healthz", NULL);
        }
        while (idle_answered + idle_closed + idle_failed < i + wave &&
               idle_answered + idle_closed + idle_failed < opt.idle && now_us() < deadline)
            poll_once(50);
    }
    while (idle_answered + idle_closed + idle_failed < opt.idle && now_us() < deadline)
        poll_once(50);
}

static void parse_args(int argc, char **argv)
{
    enum {
        O_URL = 256,
        O_PROJECT,
        O_TOKENS,
        O_CONC,
        O_DUR,
        O_DRAFTS,
        O_HB,
        O_IDLE,
        O_RATE,
        O_PID,
        O_GET,
        O_REQS,
        O_LABEL,
        O_HELP
    };
    static const struct option lo[] = {
        { "url", required_argument, NULL, O_URL },
        { "project", required_argument, NULL, O_PROJECT },
        { "tokens", required_argument, NULL, O_TOKENS },
        { "concurrency", required_argument, NULL, O_CONC },
        { "duration", required_argument, NULL, O_DUR },
        { "drafts", no_argument, NULL, O_DRAFTS },
        { "heartbeat-every", required_argument, NULL, O_HB },
        { "idle-connections", required_argument, NULL, O_IDLE },
        { "rate", required_argument, NULL, O_RATE },
        { "server-pid", required_argument, NULL, O_PID },
        { "get", required_argument, NULL, O_GET },
        { "requests", required_argument, NULL, O_REQS },
        { "label", required_argument, NULL, O_LABEL },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    opt.project = 1;
    opt.concurrency = 64;
    opt.duration = 10;
    opt.requests = 200;
    opt.label = "run";
    const char *url = "http://127.0.0.1:8080";
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case O_URL:
            url = optarg;
            break;
        case O_PROJECT:
            opt.project = strtol(optarg, NULL, 10);
            break;
        case O_TOKENS:
            opt.tokens_file = optarg;
            break;
        case O_CONC:
            opt.concurrency = atoi(optarg);
            break;
        case O_DUR:
            opt.duration = strtod(optarg, NULL);
            break;
        case O_DRAFTS:
            opt.drafts = true;
            break;
        case O_HB:
            opt.heartbeat_every = atoi(optarg);
            break;
        case O_IDLE:
            opt.idle = atoi(optarg);
            break;
        case O_RATE:
            opt.rate = strtod(optarg, NULL);
            break;
        case O_PID:
            opt.server_pid = strtol(optarg, NULL, 10);
            break;
        case O_GET:
            opt.get_path = optarg;
            break;
        case O_REQS:
            opt.requests = atoi(optarg);
            break;
        case O_LABEL:
            opt.label = optarg;
            break;
        case O_HELP:
            fputs(usage, stdout);
            exit(0);
        default:
            fputs(usage, stderr);
            exit(2);
        }
    }
    if (parse_url(url) < 0 || !opt.tokens_file || opt.concurrency < 1 || opt.duration <= 0 ||
        opt.idle < 0 || opt.requests < 1) {
        fputs(usage, stderr);
        exit(2);
    }
}

/* ------------------------------------------------------------------------ */
/* Report                                                                   */
/* ------------------------------------------------------------------------ */

static void report(double elapsed_s, long rss0, long rss_idle, long rss_end)
{
    printf("%-10s %9s %10s %9s %9s %9s %9s %8s\n", "action", "answered", "ok/s", "p50 ms", "p99 ms",
           "p99.9 ms", "max ms", "errors");
    for (int a = 0; a < ACT_MAX; a++) {
        struct stat_set *s = &stats[a];
        if (!s->n && !s->transport_errors)
            continue;
        qsort(s->lat_us, s->n, sizeof(*s->lat_us), cmp_float);
        printf("%-10s %9zu %10.1f %9.2f %9.2f %9.2f %9.2f %8ld\n", action_names[a], s->n,
               (double)s->ok / elapsed_s, pct_ms(s, 50), pct_ms(s, 99), pct_ms(s, 99.9),
               pct_ms(s, 100), s->http_errors + s->transport_errors);
        if (s->n > 1)
            printf("  slowest %s was due at t=%.2f s\n", action_names[a], s->max_at_us / 1e6);
        if (s->http_errors)
            printf("  last %s error: %d %s\n", action_names[a], s->last_error_status,
                   s->last_error_body);
    }
    printf("elapsed %.2f s%s\n", elapsed_s, exhausted ? ", project exhausted (204)" : "");
    if (opt.idle)
        printf(
            "idle connections: %d requested, %ld answered, %ld closed by the server, %ld failed\n",
            opt.idle, idle_answered, idle_closed, idle_failed);
    if (rss0 >= 0)
        printf("server VmRSS: %ld kB at start, %ld kB with idle connections, %ld kB at end\n", rss0,
               rss_idle, rss_end);

    printf("RESULT {\"label\":\"%s\",\"elapsed_s\":%.3f,\"concurrency\":%d,\"rate\":%.1f,"
           "\"exhausted\":%s",
           opt.label, elapsed_s, opt.get_path ? 1 : opt.concurrency, opt.rate,
           exhausted ? "true" : "false");
    for (int a = 0; a < ACT_MAX; a++) {
        struct stat_set *s = &stats[a];
        if (!s->n && !s->transport_errors)
            continue;
        printf(",\"%s\":{\"n\":%zu,\"ok\":%ld,\"per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
               "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"max_at_s\":%.3f,\"http_errors\":%ld,"
               "\"transport_errors\":%ld}",
               action_names[a], s->n, s->ok, (double)s->ok / elapsed_s, pct_ms(s, 50),
               pct_ms(s, 99), pct_ms(s, 99.9), pct_ms(s, 100), s->max_at_us / 1e6, s->http_errors,
               s->transport_errors);
    }
    printf(",\"claims_per_s\":%.1f,\"submits_per_s\":%.1f", (double)stats[ACT_CLAIM].ok / elapsed_s,
           (double)stats[ACT_SUBMIT].ok / elapsed_s);
    if (opt.idle)
        printf(",\"idle\":{\"requested\":%d,\"answered\":%ld,\"closed\":%ld,\"failed\":%ld}",
               opt.idle, idle_answered, idle_closed, idle_failed);
    if (rss0 >= 0)
        printf(",\"server_rss_kb\":{\"start\":%ld,\"idle\":%ld,\"end\":%ld}", rss0, rss_idle,
               rss_end);
    printf("}\n");
    fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

static void run_get(char **tokens)
{
    struct conn c = { .kind = CONN_WORKER, .fd = -1, .token = tokens[0] };
    if (conn_open(&c) < 0)
        die("connect");
    t_begin = now_us();
    for (int i = 0; i < opt.requests + 10; i++) {
        c.t_sched = now_us();
        va_send(&c, ACT_GET);
        size_t before = stats[ACT_GET].n;
        double deadline = now_us() + 30e6;
        while (stats[ACT_GET].n == before && now_us() < deadline && c.fd >= 0)
            poll_once(100);
        if (stats[ACT_GET].n == before) {
            fprintf(stderr, "loadgen: GET %s timed out\n", opt.get_path);
            exit(1);
        }
        if (i == 9) { /* drop the warm-ups */
            stats[ACT_GET].n = 0;
            stats[ACT_GET].ok = 0;
            stats[ACT_GET].http_errors = 0;
            stats[ACT_GET].max_us = 0;
            t_begin = now_us();
        }
    }
    report((now_us() - t_begin) / 1e6, -1, -1, -1);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    raise_nofile();
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ntok;
    char **tokens = load_tokens(opt.tokens_file, &ntok);
    if (ntok == 0) {
        fprintf(stderr, "loadgen: no tokens in '%s'\n", opt.tokens_file);
        return 2;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");

    if (opt.get_path) {
        run_get(tokens);
        return 0;
    }
    if (ntok < opt.concurrency)
        fprintf(stderr,
                "loadgen: warning: %d tokens for %d virtual annotators; tokens are shared and "
                "shared users steal each other's leases\n",
                ntok, opt.concurrency);

    long rss0 = read_rss_kb(opt.server_pid);
    open_idle();
    long rss_idle = read_rss_kb(opt.server_pid);
    if (opt.idle)
        fprintf(stderr, "loadgen: %ld of %d idle connections open and answered\n",
                idle_answered - idle_closed, opt.idle);

    workers = calloc((size_t)opt.concurrency, sizeof(*workers));
    if (!workers)
        die("calloc");
    for (int i = 0; i < opt.concurrency; i++) {
        struct conn *c = &workers[i];
        c->kind = CONN_WORKER;
        c->fd = -1;
        c->token = tokens[i % ntok];
        if (conn_open(c) < 0)
            die("connect");
    }
    if (opt.rate > 0) {
        due_cap = (size_t)(opt.rate * (opt.duration + 1)) + 16;
        due_queue = calloc(due_cap, sizeof(*due_queue));
        if (!due_queue)
            die("calloc");
    }

    t_begin = now_us();
    double t_end = t_begin + opt.duration * 1e6;
    double next_due = t_begin;
    double interval = opt.rate > 0 ? 1e6 / opt.rate : 0;
    for (int i = 0; i < opt.concurrency; i++)
        va_next_claim(&workers[i], t_begin);

    for (;;) {
        double now = now_us();
        if (!stopping && now >= t_end)
            stopping = true;
        if (opt.rate > 0 && !stopping && !exhausted) {
            /* release due claims to waiting VAs, queue the rest */
            while (next_due <= now && next_due < t_end) {
                due_queue[due_tail++ % due_cap] = next_due;
                next_due += interval;
            }
            for (int i = 0; i < opt.concurrency && due_head != due_tail; i++)
                if (workers[i].waiting && !workers[i].busy)
                    va_next_claim(&workers[i], now);
        }
        if (inflight == 0 && (stopping || exhausted || n_workers_done == opt.concurrency))
            break;
        if (stopping && now > t_end + 15e6) {
            fprintf(stderr, "loadgen: %ld requests still unanswered 15 s after the end\n",
                    inflight);
            break;
        }
        int timeout = 10;
        if (opt.rate > 0) {
            double wait = (next_due - now) / 1000.0;
            timeout = wait < 0 ? 0 : wait > 10 ? 10 : (int)wait;
        }
        poll_once(timeout);
    }
    double t_stop = t_last_done > t_begin ? t_last_done : now_us();
    long rss_end = read_rss_kb(opt.server_pid);
    /* idle connections the server dropped during the run show as readable EOF */
    if (opt.idle)
        while (poll_once(0) > 0)
            ;
    report((t_stop - t_begin) / 1e6, rss0, rss_idle, rss_end);
    return 0;
}
