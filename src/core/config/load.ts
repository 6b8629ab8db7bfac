/**
 * From a config file to a checked plan of what to run: every problem is collected and reported
 * at once (ConfigError), each with its file, line and column.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { DependencyContainer } from 'tsyringe';
import { ConfigError, messageOf, type ConfigProblem } from '../errors.js';
import { importModule } from '../import-module.js';
import { pathProblem } from '../fs-check.js';
import { stateDirOf } from '../identity.js';
import type { CollectorManifest, OptionsCheck, PluginInstance, PluginManifest, SinkManifest } from '../plugin.js';
import { importPluginManifests, PluginRegistry } from '../registry.js';
import { TOKENS } from '../tokens.js';
import { parseDuration } from '../units.js';
import { withDefaults } from './defaults.js';
import { ConfigDocument, formatPath, MAX_CONFIG_BYTES, pointerToPath, type PathSegment } from './document.js';
import { ConfigSchema, type AgentSettings, type RawConfig, type SinkEntryConfig } from './schema.js';
import './types.js';

export type Trigger = { readonly kind: 'cron'; readonly expression: string } | { readonly kind: 'interval'; readonly ms: number };

export interface CollectorPlan {
  readonly id: string;
  /** Where the entry is in the config (`['collectors', 2]`), to position problems found later. */
  readonly path: readonly PathSegment[];
  readonly manifest: CollectorManifest;
  readonly options: Record<string, unknown>;
  readonly trigger: Trigger;
  readonly timeoutMs: number;
  readonly jitterMs: number;
}

export interface SinkPlan {
  readonly id: string;
  /** As CollectorPlan.path. */
  readonly path: readonly PathSegment[];
  readonly manifest: SinkManifest;
  readonly options: Record<string, unknown>;
  readonly datasets: readonly string[];
  readonly queue: SinkEntryConfig['queue'];
  readonly batch: { readonly maxEvents: number; readonly maxWaitMs: number };
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
}

export interface AgentPlan {
  readonly file: string;
  readonly agent: AgentSettings;
  readonly collectors: readonly CollectorPlan[];
  readonly sinks: readonly SinkPlan[];
  /** Every known plugin, built-in and loaded from `plugins:`. */
  readonly registry: PluginRegistry;
  /** A problem at `path` of the config, positioned (for what only building the instances finds). */
  problemAt(path: readonly PathSegment[], message: string): ConfigProblem;
}

const MAX_DEFAULT_TIMEOUT_MS = 60_000;

/** Reads, checks and plans a config file. Throws ConfigError listing every problem. */
export async function loadAgentPlan(file: string, container: DependencyContainer, env: NodeJS.ProcessEnv = process.env): Promise<AgentPlan> {
  let text: string;
  try {
    const { size } = await stat(file);
    if (size > MAX_CONFIG_BYTES) throw tooLarge(file, size);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([{ file, line: 1, col: 1, path: '', message: `cannot read config: ${(err as Error).message}` }]);
  }
  return planFromText(file, text, container, env);
}

function tooLarge(file: string, bytes: number): ConfigError {
  return new ConfigError([{ file, line: 1, col: 1, path: '', message: `config is ${bytes} bytes; the most a config may have is ${MAX_CONFIG_BYTES} (1 MiB)` }]);
}

export async function planFromText(file: string, text: string, container: DependencyContainer, env: NodeJS.ProcessEnv): Promise<AgentPlan> {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) throw tooLarge(file, bytes);
  const doc = ConfigDocument.parse(file, text, env);
  const problems = doc.problems;
  if (doc.value === undefined) throw new ConfigError(problems);
  if (typeof doc.value !== 'object' || doc.value === null || Array.isArray(doc.value)) {
    throw new ConfigError([...problems, doc.problem([], 'expected a mapping with agent, collectors, sinks, plugins')]);
  }

  const raw = withDefaults(ConfigSchema, doc.value) as RawConfig;
  problems.push(...schemaProblems(doc, ConfigSchema, raw, []));
  // Go on to plugin-level checks where the structure allows, so that every problem shows at once.
  for (const key of ['plugins', 'collectors', 'sinks'] as const) if (!Array.isArray(raw[key])) raw[key] = [];

  const registry = await registryWithPlugins(doc, raw, container, resolve(dirname(file)), problems);
  // The plugins' own checks may look at the agent section (state_dir): only once it is sound.
  const checks = problems.some((p) => p.path === 'agent' || p.path.startsWith('agent.')) ? null : new OptionChecks(doc, raw.agent, env, problems);
  const collectors = planCollectors(doc, raw, registry, checks, problems);
  const sinks = planSinks(doc, raw, registry, checks, problems);
  await Promise.all([checkCronExpressions(doc, raw, problems), checks?.done(), checks && checkStateDir(doc, raw.agent, problems)]);
  if (problems.length > 0) throw new ConfigError(problems);
  return { file, agent: raw.agent, collectors, sinks, registry, problemAt: (path, message) => doc.problem(path, message) };
}

/** `agent.state_dir` (or its default) must be a directory, or creatable as one. */
async function checkStateDir(doc: ConfigDocument, agent: AgentSettings, problems: ConfigProblem[]): Promise<void> {
  const problem = await pathProblem(stateDirOf(agent), 'directory');
  if (problem === undefined) return;
  if (agent.state_dir !== undefined) problems.push(doc.problem(['agent', 'state_dir'], problem));
  else problems.push(doc.problem(['agent'], `the default state_dir: ${problem} (set agent.state_dir)`, true));
}

/** The manifests' check()s of every instance, and the resources they claim. */
class OptionChecks {
  private readonly pending: Promise<void>[] = [];
  private readonly claims: { resource: string; path: PathSegment[] }[] = [];

  constructor(
    private readonly doc: ConfigDocument,
    private readonly agent: AgentSettings,
    private readonly env: NodeJS.ProcessEnv,
    private readonly problems: ConfigProblem[],
  ) {}

  start(manifest: PluginManifest, options: Record<string, unknown>, instance: PluginInstance, entry: PathSegment[]): void {
    const check = manifest.check as ((ctx: OptionsCheck) => void | Promise<void>) | undefined;
    if (!check) return;
    const at = (path: string): PathSegment[] => [...entry, 'options', ...(path === '' ? [] : path.split('.'))];
    const ctx: OptionsCheck = {
      options, instance, agent: this.agent, env: this.env,
      problem: (path, message) => this.problems.push(this.doc.problem(at(path), message)),
      claim: (resource, path) => this.claims.push({ resource, path: at(path) }),
    };
    this.pending.push(
      Promise.resolve()
        .then(() => check(ctx))
        .catch((err: unknown) => {
          this.problems.push(this.doc.problem(entry, `checking the options failed: ${messageOf(err)}`));
        }),
    );
  }

  /** Waits for every check; a resource claimed twice is a problem at each claim after the first in the file. */
  async done(): Promise<void> {
    await Promise.all(this.pending);
    const first = new Map<string, PathSegment[]>();
    const inFileOrder = this.claims
      .map((c) => ({ ...c, at: this.doc.position(c.path) }))
      .sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col);
    for (const claim of inFileOrder) {
      const earlier = first.get(claim.resource);
      if (earlier === undefined) {
        first.set(claim.resource, claim.path);
        continue;
      }
      const what = claim.resource.slice(claim.resource.indexOf(':') + 1);
      this.problems.push(this.doc.problem(claim.path, `${what} is also used by ${formatPath(earlier)} (line ${this.doc.position(earlier).line}); two instances cannot share it`));
    }
  }
}

/** An entry that the schema check already found broken beyond planning. */
function unusable(entry: unknown): boolean {
  return typeof entry !== 'object' || entry === null || typeof (entry as { type?: unknown }).type !== 'string';
}

async function registryWithPlugins(
  doc: ConfigDocument,
  raw: RawConfig,
  container: DependencyContainer,
  configDir: string,
  problems: ConfigProblem[],
): Promise<PluginRegistry> {
  if (raw.plugins.length === 0) return container.resolve(PluginRegistry);
  const scope = container.createChildContainer();
  for (const m of container.resolveAll<PluginManifest>(TOKENS.PluginManifest)) scope.register(TOKENS.PluginManifest, { useValue: m });
  for (const [i, entry] of raw.plugins.entries()) {
    if (typeof entry !== 'object' || entry === null) continue;
    const path = ['plugins', i];
    if ((entry.path === undefined) === (entry.package === undefined)) {
      problems.push(doc.problem(path, 'give exactly one of `path` or `package`'));
      continue;
    }
    try {
      for (const m of await importPluginManifests(entry, configDir)) scope.register(TOKENS.PluginManifest, { useValue: m });
    } catch (err) {
      const what = entry.path !== undefined ? `plugin path ${entry.path}` : `plugin package ${entry.package}`;
      problems.push(doc.problem(path, `${what} ${messageOf(err)}`));
    }
  }
  try {
    return scope.resolve(PluginRegistry);
  } catch (err) {
    problems.push(doc.problem(['plugins'], messageOf(err)));
    return container.resolve(PluginRegistry);
  }
}

function planCollectors(doc: ConfigDocument, raw: RawConfig, registry: PluginRegistry, checks: OptionChecks | null, problems: ConfigProblem[]) {
  const seen = new Map<string, number>();
  const out: CollectorPlan[] = [];
  for (const [i, entry] of raw.collectors.entries()) {
    if (unusable(entry)) continue;
    const path: PathSegment[] = ['collectors', i];
    const id = entry.id ?? entry.type;
    checkUniqueId(doc, seen, id, i, path, 'collector', problems);
    const manifest = manifestOf(doc, registry, 'collector', entry.type, path, problems) as CollectorManifest | undefined;
    if (entry.schedule !== undefined && entry.interval !== undefined) {
      problems.push(doc.problem([...path, 'interval'], 'give either `schedule` or `interval`, not both', true));
    }
    if (!manifest) continue;
    const options = pluginOptions(doc, manifest, entry.options, [...path, 'options'], problems, id, checks);
    const trigger: Trigger = entry.schedule !== undefined
      ? { kind: 'cron', expression: entry.schedule }
      : { kind: 'interval', ms: parseDuration(entry.interval ?? raw.agent.interval)! };
    const jitterMs = parseDuration(entry.jitter)!;
    if (trigger.kind === 'interval' && trigger.ms > 0 && jitterMs >= trigger.ms) {
      const interval = entry.interval ?? raw.agent.interval;
      problems.push(doc.problem([...path, 'jitter'], `must be shorter than the interval (${interval}): a run delayed past the next tick makes the scheduler skip that tick`));
    }
    const timeoutMs = entry.timeout !== undefined
      ? parseDuration(entry.timeout)!
      : Math.min(trigger.kind === 'interval' ? trigger.ms : MAX_DEFAULT_TIMEOUT_MS, MAX_DEFAULT_TIMEOUT_MS);
    out.push({ id, path, manifest, options, trigger, timeoutMs, jitterMs });
  }
  return out;
}

function planSinks(doc: ConfigDocument, raw: RawConfig, registry: PluginRegistry, checks: OptionChecks | null, problems: ConfigProblem[]): SinkPlan[] {
  const seen = new Map<string, number>();
  const out: SinkPlan[] = [];
  for (const [i, entry] of raw.sinks.entries()) {
    if (unusable(entry)) continue;
    const path: PathSegment[] = ['sinks', i];
    const id = entry.id ?? entry.type;
    checkUniqueId(doc, seen, id, i, path, 'sink', problems);
    const manifest = manifestOf(doc, registry, 'sink', entry.type, path, problems) as SinkManifest | undefined;
    if (!manifest) continue;
    const options = pluginOptions(doc, manifest, entry.options, [...path, 'options'], problems, id, checks);
    out.push({
      id,
      path,
      manifest,
      options,
      datasets: entry.datasets,
      queue: entry.queue,
      batch: { maxEvents: entry.batch.max_events, maxWaitMs: parseDuration(entry.batch.max_wait)! },
      retry: { initialMs: parseDuration(entry.retry.initial)!, maxMs: parseDuration(entry.retry.max)! },
    });
  }
  if (raw.sinks.length === 0) problems.push(doc.problem(['sinks'], 'configure at least one sink (e.g. `- type: stdout`)', true));
  return out;
}

function checkUniqueId(
  doc: ConfigDocument, seen: Map<string, number>, id: string, index: number,
  path: PathSegment[], what: string, problems: ConfigProblem[],
): void {
  const first = seen.get(id);
  if (first !== undefined) {
    const at = doc.position([`${what}s`, first]);
    problems.push(doc.problem([...path, 'id'], `duplicate ${what} id "${id}" (first used at line ${at.line}); give each instance its own id`));
  } else seen.set(id, index);
}

function manifestOf(
  doc: ConfigDocument, registry: PluginRegistry, kind: PluginManifest['kind'], type: string,
  path: PathSegment[], problems: ConfigProblem[],
): PluginManifest | undefined {
  const manifest = registry.get(type);
  if (manifest && manifest.kind === kind) return manifest;
  const known = registry.types(kind);
  const hint = didYouMean(type, known);
  const why = manifest ? `"${type}" is a ${manifest.kind}, not a ${kind}` : `unknown ${kind} type "${type}"`;
  problems.push(doc.problem([...path, 'type'], `${why}${hint ? `; did you mean "${hint}"?` : ''} (known: ${known.join(', ') || 'none'})`));
  return undefined;
}

/** Applies the plugin schema's defaults to its options and checks them: the schema, then the manifest's check(). */
function pluginOptions(
  doc: ConfigDocument, manifest: PluginManifest, given: Record<string, unknown>,
  path: PathSegment[], problems: ConfigProblem[], id: string, checks: OptionChecks | null,
): Record<string, unknown> {
  // Options that are no map at all were reported by the config schema already.
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) return {};
  const options = withDefaults(manifest.options, given ?? {}) as Record<string, unknown>;
  const found = schemaProblems(doc, manifest.options, options, path, manifest.secrets ?? []);
  problems.push(...found);
  if (found.length === 0) checks?.start(manifest, options, { id, type: manifest.type }, path.slice(0, -1));
  return options;
}

/** Whether a problem at `path` would show a secret: the value at a secret path, inside one, or holding one. */
function showsSecret(path: readonly PathSegment[], secrets: readonly string[]): boolean {
  const dotted = path.join('.');
  return secrets.some((secret) => dotted === secret || dotted.startsWith(`${secret}.`) || secret.startsWith(dotted === '' ? '' : `${dotted}.`));
}

/** Schema errors as positioned problems, unknown keys with a did-you-mean. */
export function schemaProblems(
  doc: ConfigDocument, schema: TSchema, value: unknown, base: PathSegment[], secrets: readonly string[] = [],
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const reported = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const rel = pointerToPath(error.path);
    const key = error.path;
    if (reported.has(key)) continue;
    reported.add(key);
    const path = [...base, ...rel];
    if (error.type === ValueErrorType.ObjectAdditionalProperties) {
      const name = String(rel[rel.length - 1]);
      const known = Object.keys(objectSchemaAt(schema, rel.slice(0, -1))?.properties ?? {});
      const hint = didYouMean(name, known);
      out.push(doc.problem(path, `unknown key "${name}"${hint ? `; did you mean "${hint}"?` : ''} (allowed: ${known.join(', ')})`, true));
    } else if (error.type === ValueErrorType.ObjectRequiredProperty) {
      out.push(doc.problem(path, `missing required option "${rel[rel.length - 1]}"`, true));
    } else {
      const shown = showsSecret(rel, secrets) ? ' (the value is secret, not shown)' : `, got ${JSON.stringify(error.value)}`;
      out.push(doc.problem(path, `${error.message}${shown}`));
    }
  }
  return out;
}

function objectSchemaAt(schema: TSchema, path: PathSegment[]): TObject | undefined {
  let s: TSchema | undefined = schema;
  for (const seg of path) {
    if (!s) return undefined;
    if (s[Kind] === 'Object') s = (s as TObject).properties[String(seg)];
    else if (s[Kind] === 'Array') s = s.items as TSchema;
    else if (s[Kind] === 'Record') s = Object.values(s.patternProperties as Record<string, TSchema>)[0];
    else return undefined;
  }
  return s && s[Kind] === 'Object' ? (s as TObject) : undefined;
}

/** The closest known name within a small edit distance, as a typo hint. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Cron is checked only when used, so a config of intervals never loads the cron library. */
async function checkCronExpressions(doc: ConfigDocument, raw: RawConfig, problems: ConfigProblem[]) {
  const crons = raw.collectors.flatMap((c, index) => (!unusable(c) && typeof c.schedule === 'string' ? [{ index, expression: c.schedule }] : []));
  if (crons.length === 0) return;
  const { validateCronExpression } = await importModule<typeof import('cron')>('cron');
  for (const { index, expression } of crons) {
    const result = validateCronExpression(expression);
    if (!result.valid) {
      problems.push(doc.problem(['collectors', index, 'schedule'], `bad cron expression "${expression}": ${result.error?.message ?? 'invalid'} (six fields with seconds, e.g. "*/10 * * * * *")`));
    }
  }
}
