// Live project events and background jobs (docs/api.md, Events and Jobs).
//
// watchProject() opens one EventSource on `project.<id>` and calls a handler
// per event type with the parsed data; onLive(false) says the stream failed
// (EventSource reconnects by itself; callers poll meanwhile).
//
// useJobs() follows the jobs a screen started (a novel upload's LLM draft,
// a frame generation): `job` events update them at once; a GET of each
// running job every second for its first 10 s (events may precede the
// reply that names it), then every 2 s while the stream is down, every 6 s
// while it is up (a missed event costs a few seconds, never a stuck bar). A job that ends
// is re-read once (for its error and result) and handed to onEnd. With
// `lazy` the stream opens only once a job is tracked.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Job {
  id: number;
  project: number;
  kind: string;
  state: JobState | string;
  progress: { done: number; total: number } | null;
  result: unknown;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  cancel_requested?: boolean; /* a running job stops at its next step */
  [extra: string]: unknown;
}

export const jobActive = (j: { state: string }) => j.state === 'queued' || j.state === 'running';

/* A `job` event's data: {"type":"job","job":ID,"kind","state","done","total"}. */
export interface JobEvent {
  job: number;
  kind?: string;
  state?: string;
  done?: number;
  total?: number;
}

/* The job with an event's news applied. */
export function applyJobEvent(j: Job, ev: JobEvent): Job {
  const done = typeof ev.done === 'number' ? ev.done : j.progress?.done ?? 0;
  const total = typeof ev.total === 'number' ? ev.total : j.progress?.total ?? 0;
  return { ...j, state: ev.state || j.state, progress: { done, total } };
}

export function getJob(id: number): Promise<Job | null> {
  return api<Job>('GET', `/api/v1/jobs/${id}`);
}

export function cancelJob(id: number): Promise<Job | null> {
  return api<Job>('POST', `/api/v1/jobs/${id}/cancel`);
}

export async function projectJobs(projectId: number): Promise<Job[]> {
  const r = await api<{ items: Job[] }>('GET', `/api/v1/projects/${projectId}/jobs`);
  return Array.isArray(r?.items) ? r!.items : [];
}

type Handler = (data: any) => void;

/* Subscribe to a project's events; returns the unsubscribe. */
export function watchProject(projectId: number, on: Record<string, Handler>, onLive?: (live: boolean) => void): () => void {
  let es: EventSource | null = null;
  try {
    es = new EventSource(`/api/v1/events?topics=project.${projectId}`, { withCredentials: true });
  } catch {
    onLive?.(false);
    return () => {};
  }
  for (const [type, fn] of Object.entries(on))
    es.addEventListener(type, (ev) => {
      let data: unknown = null;
      try {
        data = JSON.parse((ev as MessageEvent).data);
      } catch {
        /* a notice without a body */
      }
      fn(data && typeof data === 'object' ? data : {});
    });
  es.onopen = () => onLive?.(true);
  es.onerror = () => onLive?.(false);
  return () => es?.close();
}

/*
 * The jobs this screen follows, by id. track(job) adds one; onEnd(job)
 * runs once when it reaches done, failed or cancelled. `events` lets the
 * caller hear other event types on the same stream.
 */
export function useJobs(projectId: number, onEnd: (j: Job) => void, events: Record<string, Handler> = {}, lazy = false) {
  const [jobs, setJobs] = useState<Record<number, Job>>({});
  const [live, setLive] = useState(false);
  const ref = useRef({
    jobs,
    onEnd,
    events,
    live,
    seen: new Map<number, number>(), /* when a job was last heard of */
    since: new Map<number, number>(), /* when it was first tracked */
    ended: new Set<number>(),
  });
  ref.current.onEnd = onEnd;
  ref.current.events = events;

  function put(j: Job) {
    const r = ref.current;
    r.seen.set(j.id, Date.now());
    if (!r.since.has(j.id)) r.since.set(j.id, Date.now());
    r.jobs = { ...r.jobs, [j.id]: j };
    setJobs(r.jobs);
    if (!jobActive(j) && !r.ended.has(j.id)) {
      r.ended.add(j.id);
      r.onEnd(j);
    }
  }

  /* a job that ended by an event: read it once for its error and result */
  function settle(id: number, fallback: Job) {
    getJob(id)
      .then((j) => put(j && !jobActive(j) ? j : fallback))
      .catch(() => put(fallback));
  }

  /* lazy: no stream until there is a job to follow */
  const want = projectId > 0 && (!lazy || Object.keys(jobs).length > 0);
  useEffect(() => {
    if (!want) return;
    const r = ref.current;
    const handlers: Record<string, Handler> = {
      job: (ev: JobEvent) => {
        const j = r.jobs[ev.job];
        if (!j || r.ended.has(j.id)) return;
        const next = applyJobEvent(j, ev);
        if (jobActive(next)) put(next);
        else settle(j.id, next);
      },
      resync: () => {
        r.seen.clear(); /* poll every running job at the next tick */
        r.events.resync?.({});
      },
    };
    const types = new Set([...Object.keys(r.events), 'job', 'resync']);
    const on: Record<string, Handler> = {};
    for (const type of types) on[type] = (d) => (handlers[type] ? handlers[type](d) : r.events[type]?.(d));
    const stop = watchProject(projectId, on, (up) => {
      r.live = up;
      setLive(up);
    });
    const timer = setInterval(() => {
      const now = Date.now();
      for (const j of Object.values(r.jobs)) {
        if (!jobActive(j) || r.ended.has(j.id)) continue;
        /* a young job every second (its first events may have come before it was tracked) */
        const young = now - (r.since.get(j.id) ?? 0) < 10000;
        if (now - (r.seen.get(j.id) ?? 0) < (young ? 1000 : r.live ? 6000 : 2000)) continue;
        r.seen.set(j.id, now);
        getJob(j.id)
          .then((x) => x && !r.ended.has(x.id) && put(x))
          .catch(() => {});
      }
    }, 1000);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, [projectId, want]);

  return { jobs, live, track: put };
}
