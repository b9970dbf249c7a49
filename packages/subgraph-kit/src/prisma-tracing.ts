// Prisma's spans (prisma:client:*, one db_query span per SQL statement) in this process's traces:
// its instrumentation, enabled once tracing has started (platform's tracing.ts), on the global
// tracer provider that started it. Here, not in the platform, so the gateway never loads Prisma.
import { tracing } from '@commerce/platform/tracing';

let enabled = false;

export async function enablePrismaTracing(): Promise<void> {
  if (enabled || tracing() === null) return;
  enabled = true;
  const { PrismaInstrumentation } = await import('@prisma/instrumentation');
  new PrismaInstrumentation({ enabled: false }).enable();
}
