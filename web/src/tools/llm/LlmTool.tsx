// Tool for kind "llm": judging language-model output, one mode per project
// (config.mode): sft writes the response, pairwise picks the better of two,
// ranking orders them, rubric scores criteria. Results as in docs/api.md.
//
// Keys (never while typing in a field): pairwise 1/2/3 or A/B/T choose A, B
// or a tie, Shift+1/2/3 the strength; ranking ↑/↓ select, Alt+↑/↓ move;
// rubric ↑/↓ pick a criterion, digits score it. Ctrl+Enter submits (the
// stream). Task text is rendered as text nodes only (never as HTML), with
// its whitespace and newlines kept.
import { useState } from 'preact/hooks';
import { t, type MessageKey } from '../../i18n';
import type { ToolProps } from '../types';
import { Text, useKeys, withField, type ModeProps } from './common';
import { conversation, emptyResult, letter, readConfig, responses, scoresOf, validate, type Response } from './model';
import { Ranking } from './Ranking';
import './llm.css';

export { emptyResult, validate };

function roleName(role: string): string {
  const key = `llm.role.${role}` as MessageKey;
  return role === 'system' || role === 'user' || role === 'assistant' ? t(key) : role;
}

function Conversation({ data }: { data: Record<string, unknown> }) {
  const { prompt, messages } = conversation(data);
  if (prompt === null && messages.length === 0) return <p class="error">{t('llm.noConversation')}</p>;
  return (
    <div class="llm-conv" data-testid="conversation">
      {prompt !== null ? (
        <div class="turn role-user">
          <div class="role">{t('llm.prompt')}</div>
          <Text text={prompt} testid="prompt" />
        </div>
      ) : (
        messages.map((m, i) => (
          <div key={i} class={`turn role-${m.role}`} data-role={m.role} data-testid="message">
            <div class="role">{roleName(m.role)}</div>
            <Text text={m.content} />
          </div>
        ))
      )}
    </div>
  );
}

function ResponseCard({ r, i, chosen }: { r: Response; i: number; chosen?: boolean }) {
  return (
    <div class={chosen ? 'resp chosen' : 'resp'} data-response={r.id}>
      <div class="resp-head">{t('llm.response', { label: letter(i) })}</div>
      <Text text={r.text} testid={`response-${r.id}`} />
    </div>
  );
}

/* ---- sft: write or edit the response ---------------------------------- */

function Sft({ task, result, onChange }: ModeProps) {
  const resps = responses(task.data);
  const given = resps.length === 1 ? resps[0].text : null;
  const value = typeof result.response === 'string' ? result.response : '';
  return (
    <div class="group">
      {resps.length > 1 && (
        <div class="resp-list">
          {resps.map((r, i) => (
            <ResponseCard key={r.id} r={r} i={i} />
          ))}
        </div>
      )}
      <label class="field">
        <span class="field-label">{t('llm.sft.label')}</span>
        <textarea
          data-testid="sft-response"
          rows={10}
          value={value}
          onInput={(e) => onChange({ ...result, response: (e.currentTarget as HTMLTextAreaElement).value })}
        />
      </label>
      <div class="field-foot">
        <span class="muted">{t(given !== null ? 'llm.sft.hintEdit' : 'llm.sft.hint')}</span>
        <span class="spacer" />
        <span class="muted">{t('llm.sft.chars', { n: Array.from(value).length })}</span>
        {given !== null && value !== given && (
          <button data-testid="sft-restore" onClick={() => onChange({ ...result, response: given })}>
            {t('llm.sft.restore')}
          </button>
        )}
      </div>
    </div>
  );
}

/* ---- pairwise: A or B (or a tie), by how much, and why ---------------- */

const STRENGTHS: Array<[number, MessageKey]> = [
  [1, 'llm.pair.s1'],
  [2, 'llm.pair.s2'],
  [3, 'llm.pair.s3'],
];

function Pairwise({ task, cfg, result, onChange }: ModeProps) {
  const resps = responses(task.data);
  const choice = typeof result.choice === 'string' ? result.choice : null;
  const strength = typeof result.strength === 'number' ? result.strength : null;
  const reason = typeof result.reason === 'string' ? result.reason : '';
  const canStrength = choice !== null && choice !== 'tie';

  function choose(c: string) {
    const next: Record<string, unknown> = { ...result, choice: c };
    if (c === 'tie') delete next.strength; /* a tie has no strength */
    onChange(next);
  }
  function setStrength(s: number) {
    if (canStrength) onChange({ ...result, strength: s });
  }

  useKeys((ev) => {
    if (ev.altKey || resps.length !== 2) return;
    if (ev.shiftKey && /^Digit[123]$/.test(ev.code)) {
      ev.preventDefault();
      setStrength(Number(ev.code.slice(5)));
      return;
    }
    const k = ev.key.toLowerCase();
    const c = k === '1' || k === 'a' ? resps[0].id : k === '2' || k === 'b' ? resps[1].id : k === '3' || k === 't' ? 'tie' : null;
    if (c !== null) {
      ev.preventDefault();
      choose(c);
    }
  });

  if (resps.length !== 2) return <p class="error">{t('llm.pair.needTwo')}</p>;
  const options: Array<[string, string, string]> = [
    [resps[0].id, t('llm.pair.a'), '1'],
    [resps[1].id, t('llm.pair.b'), '2'],
    ['tie', t('llm.pair.tie'), '3'],
  ];
  return (
    <div class="group">
      <div class="pair">
        {resps.map((r, i) => (
          <ResponseCard key={r.id} r={r} i={i} chosen={choice === r.id} />
        ))}
      </div>
      <h2>{t('llm.pair.question')}</h2>
      <div class="choices" role="group" aria-label={t('llm.pair.question')}>
        {options.map(([id, label, key]) => (
          <button
            key={id}
            class={choice === id ? 'choice on' : 'choice'}
            aria-pressed={choice === id}
            data-choice={id === 'tie' ? 'tie' : id === resps[0].id ? 'A' : 'B'}
            onClick={() => choose(id)}
          >
            <kbd>{key}</kbd> {label}
          </button>
        ))}
      </div>
      <h2>{t('llm.pair.strength')}</h2>
      <div class="choices" role="group" aria-label={t('llm.pair.strength')}>
        {STRENGTHS.map(([s, key]) => (
          <button
            key={s}
            class={canStrength && strength === s ? 'choice on' : 'choice'}
            aria-pressed={canStrength && strength === s}
            data-strength={s}
            disabled={!canStrength}
            onClick={() => setStrength(s)}
          >
            <kbd>⇧{s}</kbd> {t(key)}
          </button>
        ))}
        {choice === 'tie' && <span class="muted">{t('llm.pair.tieNoStrength')}</span>}
      </div>
      <label class="field">
        <span class="field-label">
          {t('llm.pair.reason')}{' '}
          {cfg.requireReason ? (
            <span class="required" data-testid="reason-required">
              {t('llm.required')}
            </span>
          ) : (
            <span class="muted">{t('llm.optional')}</span>
          )}
        </span>
        <textarea
          data-testid="reason"
          rows={3}
          value={reason}
          required={cfg.requireReason}
          onInput={(e) => onChange(withField(result, 'reason', (e.currentTarget as HTMLTextAreaElement).value))}
        />
      </label>
      <p class="hint muted">{t('llm.pair.keys')}</p>
    </div>
  );
}

/* ---- rubric: a score per criterion, a comment ------------------------- */

const MAX_BUTTONS = 11; /* a wider range gets a number field */

function Rubric({ task, cfg, result, onChange }: ModeProps) {
  const scores = scoresOf(result);
  const comment = typeof result.comment === 'string' ? result.comment : '';
  const [active, setActive] = useState(0);
  const resps = responses(task.data);

  function score(i: number, v: number) {
    const c = cfg.criteria[i];
    onChange({ ...result, scores: { ...scores, [c.name]: v } });
    setActive(Math.min(cfg.criteria.length - 1, i + 1));
  }

  useKeys((ev) => {
    if (ev.altKey || cfg.criteria.length === 0) return;
    if (ev.key === 'ArrowUp' || ev.key === 'ArrowDown') {
      ev.preventDefault();
      setActive((a) => Math.max(0, Math.min(cfg.criteria.length - 1, a + (ev.key === 'ArrowUp' ? -1 : 1))));
      return;
    }
    if (ev.key.length === 1 && ev.key >= '0' && ev.key <= '9') {
      const c = cfg.criteria[Math.min(active, cfg.criteria.length - 1)];
      const v = Number(ev.key);
      if (v >= c.min && v <= c.max) {
        ev.preventDefault();
        score(Math.min(active, cfg.criteria.length - 1), v);
      }
    }
  });

  return (
    <div class="group">
      {resps.length > 0 && (
        <div class="resp-list">
          {resps.map((r, i) => (
            <ResponseCard key={r.id} r={r} i={i} />
          ))}
        </div>
      )}
      <h2>{t('llm.rubric.title')}</h2>
      <div class="rubric">
        {cfg.criteria.map((c, i) => {
          const v = scores[c.name];
          const range = [];
          for (let s = c.min; s <= c.max && c.max - c.min < MAX_BUTTONS; s++) range.push(s);
          return (
            <div
              key={c.name}
              class={i === active ? 'criterion active' : 'criterion'}
              data-criterion={c.name}
              onClick={() => setActive(i)}
            >
              <span class="criterion-name">{c.name}</span>
              <span class="muted range">{t('llm.rubric.range', { min: c.min, max: c.max })}</span>
              <div class="choices" role="group" aria-label={c.name}>
                {range.length > 0 ? (
                  range.map((s) => (
                    <button
                      key={s}
                      class={v === s ? 'choice score on' : 'choice score'}
                      aria-pressed={v === s}
                      data-score={s}
                      onClick={(e) => {
                        e.stopPropagation();
                        score(i, s);
                      }}
                    >
                      {s}
                    </button>
                  ))
                ) : (
                  <input
                    type="number"
                    min={c.min}
                    max={c.max}
                    step={1}
                    value={Number.isInteger(v) ? v : ''}
                    aria-label={c.name}
                    onInput={(e) => {
                      const n = Number((e.currentTarget as HTMLInputElement).value);
                      const next = { ...scores };
                      if ((e.currentTarget as HTMLInputElement).value === '' || !Number.isInteger(n)) delete next[c.name];
                      else next[c.name] = n;
                      onChange({ ...result, scores: next });
                    }}
                  />
                )}
              </div>
            </div>
          );
        })}
      </div>
      <p class="hint muted">{t('llm.rubric.hint')}</p>
      <label class="field">
        <span class="field-label">
          {t('llm.rubric.comment')} <span class="muted">{t('llm.optional')}</span>
        </span>
        <textarea
          data-testid="comment"
          rows={3}
          value={comment}
          onInput={(e) => onChange(withField(result, 'comment', (e.currentTarget as HTMLTextAreaElement).value))}
        />
      </label>
    </div>
  );
}

/* A new DOM per task (key): no focus or selection is carried to the next task. */
export function Tool(props: ToolProps) {
  return <LlmTask key={props.task.id} {...props} />;
}

function LlmTask(props: ToolProps) {
  const cfg = readConfig(props.config);
  const mode = cfg.mode;
  return (
    <div class={`llm-tool mode-${mode ?? 'none'}`} data-mode={mode ?? ''}>
      <Conversation data={props.task.data} />
      {mode === 'sft' && <Sft {...props} cfg={cfg} />}
      {mode === 'pairwise' && <Pairwise {...props} cfg={cfg} />}
      {mode === 'ranking' && <Ranking {...props} cfg={cfg} />}
      {mode === 'rubric' && <Rubric {...props} cfg={cfg} />}
      {mode === null && <p class="error">{t('llm.badMode', { mode: String(props.config.mode) })}</p>}
    </div>
  );
}
