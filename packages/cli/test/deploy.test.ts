// The container image and the Compose file (issue 21 §1), checked statically: no image can be
// built or pulled on these machines, so the rules are read from the files themselves.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Copy, DockerfileParser, type From, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../../..');
const deploy = join(root, 'deploy');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Stage {
  name: string | null;
  from: From;
  instructions: Instruction[];
}

/** The Dockerfile's stages, each with the instructions up to the next FROM. */
function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const i of DockerfileParser.parse(text).getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const from = i as From;
      out.push({ name: from.getBuildStage(), from, instructions: [] });
    } else out.at(-1)?.instructions.push(i);
  }
  return out;
}

/** A stage's instructions of one keyword, its parents' first (`FROM <stage>` inherits them). */
function inherited(all: Stage[], stage: Stage, keyword: string): Instruction[] {
  const parent = all.find((s) => s.name !== null && s.name === stage.from.getImageName());
  const own = stage.instructions.filter((i) => i.getKeyword() === keyword);
  return parent && parent !== stage ? [...inherited(all, parent, keyword), ...own] : own;
}

/** The exec-form (JSON) arguments of an instruction, or its words in shell form. */
const words = (i: Instruction | undefined) => (i ? i.getArguments().map((a) => a.getValue()) : []);
const jsonArgs = (i: Instruction | undefined): string[] =>
  JSON.parse(i?.getArgumentsContent()?.replace(/^.*?(?=\[)/s, '') ?? '[]') as string[];

describe('deploy/Dockerfile', () => {
  const all = stages(read('deploy/Dockerfile'));
  const final = all.at(-1)!;
  const byName = (name: string) => all.find((s) => s.name === name);

  it('builds in one stage and runs on a slim Node 22 image in another', () => {
    expect(all.length).toBeGreaterThanOrEqual(3);
    const build = all[0]!;
    expect(build.instructions.some((i) => /\bnpm ci\b/.test(i.getArgumentsContent() ?? ''))).toBe(true);
    // The runtime's chain of stages ends on an image, never on the build stage.
    let base = final;
    while (byName(base.from.getImageName() ?? '')) base = byName(base.from.getImageName()!)!;
    expect(base).not.toBe(build);
    expect(base.from.getImageName()).toBe('node');
    expect(base.from.getImageTag()).toMatch(/^22(\.\d+)*-.*slim$/);
    // What the runtime takes from the build stage is copied, not rebuilt.
    const copied = inherited(all, final, 'COPY') as Copy[];
    expect(
      copied.some((c) => c.getFlags().some((f) => f.getName() === 'from' && f.getValue() === build.name)),
    ).toBe(true);
  });

  it('runs as uid 1000 under tini, the CLI as entrypoint, with a health check on /health', () => {
    for (const stage of [final, byName('browser')!]) {
      const user = words(inherited(all, stage, 'USER').at(-1));
      expect(user[0], `${stage.name}: USER`).toMatch(/^1000(:1000)?$/);
      const entrypoint = jsonArgs(inherited(all, stage, 'ENTRYPOINT').at(-1));
      expect(entrypoint.slice(0, 2), `${stage.name}: tini is PID 1`).toEqual(['/usr/bin/tini', '--']);
      expect(entrypoint.join(' ')).toMatch(/node \S*packages\/cli\/dist\/sluice\.mjs$/);
      const health = inherited(all, stage, 'HEALTHCHECK').at(-1);
      expect(health?.getArgumentsContent()).toMatch(/CMD .*\/health/);
    }
    // tini comes from Debian's package, installed where the runtime's base is made.
    expect(
      all.some((s) =>
        s.instructions.some((i) => /apt-get install[^&]*\btini\b/.test(i.getArgumentsContent() ?? '')),
      ),
    ).toBe(true);
    expect(jsonArgs(inherited(all, final, 'CMD').at(-1))[0]).toBe('serve');
  });

  it('has a browser target with Debian Chromium that starts a worker tagged browser', () => {
    const browser = byName('browser');
    expect(browser, 'a stage named browser').toBeDefined();
    const runs = browser!.instructions
      .filter((i) => i.getKeyword() === 'RUN')
      .map((i) => i.getArgumentsContent());
    expect(runs.join('\n')).toMatch(/apt-get install[^&]*\bchromium\b/);
    const env = browser!.instructions
      .filter((i) => i.getKeyword() === 'ENV')
      .map((i) => i.getArgumentsContent());
    expect(env.join('\n')).toContain('SLUICE_CHROMIUM=/usr/bin/chromium');
    expect(jsonArgs(inherited(all, browser!, 'CMD').at(-1))).toEqual(['worker', '--tags', 'browser']);
  });

  it('adds no remote URL and pins every base image to a tag', () => {
    for (const stage of all) {
      for (const i of stage.instructions.filter((i) => i.getKeyword() === 'ADD'))
        expect(i.getArgumentsContent(), 'ADD of a URL').not.toMatch(/https?:\/\/|git@/);
      if (!byName(stage.from.getImageName() ?? '')) expect(stage.from.getImageTag()).toBeTruthy();
    }
  });

  it('is built from a context that leaves out modules, state and secrets', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.git', '**/node_modules', '**/.sluice', '**/.env'])
      expect(ignored).toContain(entry);
  });
});

// Compose files use YAML merge keys (<<: *sluice) for what every Sluice service shares.
const compose = parse(read('deploy/docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  command?: string[];
  env_file?: string | string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition?: string }>;
  deploy?: { replicas?: number | string };
  volumes?: string[];
  profiles?: string[];
}

describe('deploy/docker-compose.yml', () => {
  const s = compose.services;
  const sluiceServices = ['migrate', 'sluice', 'worker', 'worker-browser'];

  it('runs PostgreSQL, migrate, serve, workers, Prometheus and Grafana', () => {
    expect(Object.keys(s)).toEqual(
      expect.arrayContaining(['postgres', ...sluiceServices, 'prometheus', 'grafana']),
    );
    expect(s.migrate!.command).toEqual(['migrate']);
    expect(s.sluice!.command?.[0]).toBe('serve');
    expect(s.sluice!.command).toContain('--no-worker');
    expect(s.worker!.command).toEqual(['worker']);
    expect(s['worker-browser']!.command).toEqual(['worker', '--tags', 'browser']);
    const targets = stages(read('deploy/Dockerfile')).map((t) => t.name);
    for (const name of sluiceServices) {
      expect(s[name]!.build?.dockerfile).toBe('deploy/Dockerfile');
      expect(targets).toContain(s[name]!.build?.target);
    }
    expect(s['worker-browser']!.build?.target).toBe('browser');
  });

  it('runs N workers', () => {
    const replicas = String(s.worker!.deploy?.replicas);
    expect(replicas).toMatch(/^(\d+|\$\{SLUICE_WORKERS:-\d+\})$/);
    expect(Number(/(\d+)\}?$/.exec(replicas)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('takes secrets from deploy/.env, whose example names every variable it needs', () => {
    const example = read('deploy/.env.example');
    const names = [...example.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    for (const name of sluiceServices) expect(s[name]!.env_file).toBe('.env');
    // Step processes get the server's environment minus SLUICE_*: the secrets must be SLUICE_*.
    for (const name of names) expect(name).toMatch(/^SLUICE_/);
    const text = read('deploy/docker-compose.yml');
    const required = [...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    for (const name of [...required, 'SLUICE_MASTER_KEY', 'SLUICE_ADMIN_PASSWORD'])
      expect(names).toContain(name);
    expect(read('.gitignore').split('\n')).toContain('deploy/.env');
    expect(s.sluice!.environment?.SLUICE_DATABASE_URL).toMatch(
      /^postgres:\/\/sluice:\$\{SLUICE_DB_PASSWORD:\?.*\}@postgres:5432\//,
    );
  });

  it('checks health and starts each service after what it needs', () => {
    for (const name of ['postgres', 'sluice', 'prometheus', 'grafana'])
      expect(s[name]!.healthcheck?.test?.length, `${name} has a healthcheck`).toBeGreaterThan(0);
    expect(s.sluice!.healthcheck?.test?.join(' ')).toMatch(/\/(ready|health)\b/);
    // Workers serve no HTTP: the image's /health check is turned off for them, on purpose.
    for (const name of ['migrate', 'worker', 'worker-browser'])
      expect(s[name]!.healthcheck?.disable).toBe(true);
    for (const [name, service] of Object.entries(s))
      for (const [dep, how] of Object.entries(service.depends_on ?? {})) {
        expect(s[dep], `${name} depends on ${dep}`).toBeDefined();
        const wanted = dep === 'migrate' ? 'service_completed_successfully' : 'service_healthy';
        expect(how.condition, `${name} → ${dep}`).toBe(wanted);
      }
    expect(Object.keys(s.migrate!.depends_on ?? {})).toEqual(['postgres']);
    expect(Object.keys(s.sluice!.depends_on ?? {}).sort()).toEqual(['migrate', 'postgres']);
    expect(Object.keys(s.worker!.depends_on ?? {})).toContain('migrate');
  });

  it('gives Prometheus a config that scrapes serve, and Grafana the dashboard and data source', () => {
    const mounts = (name: string) =>
      (s[name]!.volumes ?? []).map((v) => v.split(':')).filter(([from]) => from!.startsWith('./'));
    for (const [from] of [...mounts('prometheus'), ...mounts('grafana')])
      expect(existsSync(join(deploy, from!)), `${from} exists`).toBe(true);
    const promFile = mounts('prometheus').find(([, to]) => to === '/etc/prometheus/prometheus.yml')![0]!;
    const prom = parse(readFileSync(join(deploy, promFile), 'utf8'));
    expect(prom.scrape_configs[0].static_configs[0].targets).toEqual(['sluice:8080']);
    const datasource = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml'));
    expect(datasource.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const provider = parse(read('deploy/grafana/provisioning/dashboards/sluice.yml')).providers[0];
    const dashboard = mounts('grafana').find(([from]) => from === './grafana/sluice.json');
    expect(dashboard?.[1]).toBe(`${provider.options.path}/sluice.json`);
  });
});
