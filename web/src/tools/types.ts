import type { ComponentType } from 'preact';
import type { Task } from '../api';

/* What a tool (web/src/tools/<kind>/) gives the annotation stream. */
export interface ToolProps {
  task: Task;
  config: Record<string, unknown>;
  result: Record<string, unknown>;
  onChange(result: Record<string, unknown>): void;
}

export interface ToolModule {
  Tool: ComponentType<ToolProps>;
  /* A fresh result for a task of this project (what an untouched task submits). */
  emptyResult(config: Record<string, unknown>, task?: Task): Record<string, unknown>;
  /* What is still missing before `result` can be submitted, or null (optional: absent = always ready). */
  validate?(config: Record<string, unknown>, task: Task, result: Record<string, unknown>): string | null;
  /* Warm up what a prefetched task will need when it is shown (optional: e.g. fetch its image). */
  preload?(task: Task): void;
}

/* One chunk per tool, loaded when a project of that kind is opened. */
export const tools: Record<string, () => Promise<ToolModule>> = {
  text: () => import('./text/TextTool'),
  image: () => import('./image/ImageTool'),
  llm: () => import('./llm/LlmTool'),
  storyboard: () => import('./storyboard/StoryboardTool'),
};
