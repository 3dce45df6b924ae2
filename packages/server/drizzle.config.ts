import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes a new SQL migration here after a change to the schema.
export default defineConfig({
  dialect: 'postgresql',
  schema: './packages/server/src/db/schema.ts',
  out: './packages/server/drizzle',
});
