#!/usr/bin/env node
// Container liveness for netagent: healthy while the agent keeps writing its agent.stats events.
// The agent config routes agent.stats (every agent.stats_interval) to a file sink at
// NETAGENT_HEALTH_FILE; a file older than NETAGENT_HEALTH_MAX_AGE means the scheduler, the pipeline
// or the sinks stopped moving, which a mere "process exists" check would not see.
import { statSync } from 'node:fs';

const file = process.env.NETAGENT_HEALTH_FILE || '/var/lib/netagent/health.ndjson';
const maxAge = Number(process.env.NETAGENT_HEALTH_MAX_AGE_S || 90);

try {
  const age = (Date.now() - statSync(file).mtimeMs) / 1000;
  if (age > maxAge) {
    console.error(`unhealthy: ${file} last written ${Math.round(age)}s ago (limit ${maxAge}s)`);
    process.exit(1);
  }
  console.log(`healthy: ${file} written ${Math.round(age)}s ago`);
} catch (err) {
  console.error(`unhealthy: ${file}: ${err.code ?? err.message} (does the config route agent.stats to a file sink there?)`);
  process.exit(1);
}
