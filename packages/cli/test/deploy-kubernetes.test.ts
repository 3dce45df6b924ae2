// deploy/kubernetes (issue 21 §1): the kustomize base and every overlay rendered with
// `kubectl kustomize`, every object validated against the Kubernetes OpenAPI schemas (and KEDA's
// CRD schema) offline, then the rules a reviewer would check by hand.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const dir = join(import.meta.dirname, '../../../deploy/kubernetes');
const trees = ['base', ...readdirSync(join(dir, 'overlays')).map((o) => `overlays/${o}`)];

// The models validate with the schemas of the Kubernetes OpenAPI document (kubernetes-models)
// and of KEDA's CRD (@kubernetes-models/keda), compiled into the packages: nothing is fetched.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests, checked field by field below
  spec?: any;
};
type Labels = Record<string, string>;

function kubectl(): string | undefined {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return 'kubectl';
  } catch {
    return undefined;
  }
}

const bin = kubectl();

function render(tree: string): Obj[] {
  if (!bin)
    throw new Error(
      'kubectl is not installed, so the manifests cannot be rendered: apt-get install -y kubernetes-client (.ci/run installs it)',
    );
  const text = execFileSync(bin, ['kustomize', join(dir, tree)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as Obj)
    .filter(Boolean);
}

/** Does a label selector (matchLabels and matchExpressions In/NotIn/Exists) select these labels? */
function selects(
  selector: {
    matchLabels?: Labels;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  },
  labels: Labels,
): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpr = (selector.matchExpressions ?? []).every((e) => {
    const v = labels[e.key];
    if (e.operator === 'In') return v !== undefined && (e.values ?? []).includes(v);
    if (e.operator === 'NotIn') return v === undefined || !(e.values ?? []).includes(v);
    if (e.operator === 'Exists') return v !== undefined;
    return v === undefined;
  });
  return byLabel && byExpr;
}

const find = (objs: Obj[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);

it('validates: a broken object fails its schema (the validator is not a no-op)', () => {
  expect(() =>
    new Deployment({
      metadata: { name: 'x' },
      spec: { selector: {}, template: { spec: { containers: 'api' } } },
    } as never).validate(),
  ).toThrow();
});

describe.each(trees)('deploy/kubernetes/%s', (tree) => {
  const objs = bin ? render(tree) : [];
  const workloads = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');

  it('renders with kubectl kustomize, and every object passes its Kubernetes schema', () => {
    if (!bin) render(tree); // throws the message that says how to install kubectl
    expect(objs.length).toBeGreaterThan(10);
    for (const o of objs) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `a schema for ${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Model!(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
      expect((o.metadata as { namespace?: string }).namespace).toBe('sluice');
    }
  });

  it('probes the API on /health and /ready', () => {
    const api = find(objs, 'Deployment', 'sluice-api')!.spec.template.spec.containers[0];
    expect(api.args.slice(0, 1)).toEqual(['serve']);
    expect(api.args).toContain('--no-worker');
    expect(api.livenessProbe.httpGet).toMatchObject({ path: '/health', port: 'http' });
    expect(api.readinessProbe.httpGet).toMatchObject({ path: '/ready', port: 'http' });
    expect(api.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
  });

  it('limits every container, runs it as non-root on a read-only root with emptyDirs to write in', () => {
    expect(workloads.length).toBeGreaterThanOrEqual(3);
    for (const w of workloads) {
      const pod = w.spec.template.spec;
      const name = `${w.kind}/${w.metadata.name}`;
      expect(pod.securityContext.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext.runAsUser, name).toBe(1000);
      expect(pod.automountServiceAccountToken, name).toBe(false);
      const emptyDirs = new Set(
        pod.volumes.filter((v: { emptyDir?: object }) => v.emptyDir).map((v: { name: string }) => v.name),
      );
      for (const c of pod.containers) {
        for (const r of ['cpu', 'memory']) {
          expect(c.resources.requests[r], `${name}: requests.${r}`).toBeDefined();
          expect(c.resources.limits[r], `${name}: limits.${r}`).toBeDefined();
        }
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        const writable = c.volumeMounts
          .filter((m: { name: string }) => emptyDirs.has(m.name))
          .map((m: { mountPath: string }) => m.mountPath);
        expect(writable, `${name}: writable paths`).toEqual(
          expect.arrayContaining(['/var/lib/sluice', '/tmp']),
        );
        // The master key and the database URL come from the Secret.
        expect(c.envFrom).toContainEqual({ secretRef: { name: 'sluice' } });
      }
    }
    const secret = find(objs, 'Secret', 'sluice')!;
    expect(Object.keys((secret as { stringData?: object }).stringData ?? {})).toEqual(
      expect.arrayContaining(['SLUICE_DATABASE_URL', 'SLUICE_MASTER_KEY']),
    );
  });

  it('migrates in a Job, runs workers, and serves the API through a Service and an Ingress', () => {
    const job = find(objs, 'Job', 'sluice-migrate')!;
    expect(job.spec.template.spec.containers[0].args).toEqual(['migrate']);
    const worker = find(objs, 'Deployment', 'sluice-worker')!;
    expect(worker.spec.template.spec.containers[0].args[0]).toBe('worker');
    const api = find(objs, 'Deployment', 'sluice-api')!;
    const service = find(objs, 'Service', 'sluice-api')!;
    expect(selects({ matchLabels: service.spec.selector }, api.spec.template.metadata.labels)).toBe(true);
    expect(selects({ matchLabels: service.spec.selector }, worker.spec.template.metadata.labels)).toBe(false);
    const backend = find(objs, 'Ingress', 'sluice')!.spec.rules[0].http.paths[0].backend.service;
    expect(backend).toEqual({ name: 'sluice-api', port: { name: 'http' } });
    expect(service.spec.ports[0].targetPort).toBe('http');
  });

  it('keeps the API and workers through disruptions, and scales the API on CPU', () => {
    for (const d of objs.filter((o) => o.kind === 'Deployment')) {
      const budgets = objs.filter(
        (o) => o.kind === 'PodDisruptionBudget' && selects(o.spec.selector, d.spec.template.metadata.labels),
      );
      expect(budgets.length, `a PodDisruptionBudget for ${d.metadata.name}`).toBe(1);
    }
    const hpa = find(objs, 'HorizontalPodAutoscaler', 'sluice-api')!;
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'sluice-api' });
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });

  it('lets nothing connect to workers, and workers reach only PostgreSQL, DNS and allowed ranges', () => {
    const runners = workloads.filter((w) => w.metadata.name !== 'sluice-api');
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
    for (const w of runners) {
      const labels = w.spec.template.metadata.labels;
      const mine = policies.filter((p) => selects(p.spec.podSelector, labels));
      const name = `${w.kind}/${w.metadata.name}`;
      // Ingress is denied when some policy names it and none allows any.
      expect(
        mine.some((p) => p.spec.policyTypes.includes('Ingress')),
        `${name}: ingress isolated`,
      ).toBe(true);
      expect(
        mine.flatMap((p) => p.spec.ingress ?? []),
        `${name}: ingress rules`,
      ).toEqual([]);
      expect(
        mine.some((p) => p.spec.policyTypes.includes('Egress')),
        `${name}: egress isolated`,
      ).toBe(true);
      const rules = mine.flatMap((p) => p.spec.egress ?? []);
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        expect(rule.to?.length, `${name}: an egress rule names its peers`).toBeGreaterThan(0);
        for (const peer of rule.to) {
          const ports = (rule.ports ?? []).map(
            (p: { port: number; protocol: string }) => `${p.protocol}/${p.port}`,
          );
          if (peer.ipBlock) {
            // A range the user allows: never link-local (cloud metadata) nor the cluster's own ranges.
            expect(Object.keys(peer)).toEqual(['ipBlock']);
            if (peer.ipBlock.cidr === '0.0.0.0/0')
              expect(peer.ipBlock.except).toEqual(
                expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']),
              );
          } else if (peer.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns') {
            expect(peer.namespaceSelector.matchLabels).toEqual({
              'kubernetes.io/metadata.name': 'kube-system',
            });
            expect(ports.sort()).toEqual(['TCP/53', 'UDP/53']);
          } else {
            expect(peer, `${name}: the only pods reached are PostgreSQL's`).toEqual({
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgresql' } },
            });
            expect(ports).toEqual(['TCP/5432']);
          }
        }
      }
    }
  });

  if (tree !== 'base')
    it('scales workers on etl_queue_depth with KEDA, which owns their replica count', () => {
      const so = find(objs, 'ScaledObject', 'sluice-worker')!;
      expect(so.spec.scaleTargetRef.name).toBe('sluice-worker');
      expect(so.spec.triggers[0].type).toBe('prometheus');
      expect(so.spec.triggers[0].metadata.query).toMatch(/\betl_queue_depth\b/);
      expect(find(objs, 'Deployment', 'sluice-worker')!.spec.replicas).toBeUndefined();
    });

  if (tree === 'overlays/browser')
    it('runs browser workers with the tag and the Chromium image', () => {
      const browser = find(objs, 'Deployment', 'sluice-browser-worker')!.spec.template.spec;
      const c = browser.containers[0];
      expect(c.args.slice(0, 3)).toEqual(['worker', '--tags', 'browser']);
      expect(c.image).toMatch(/sluice-browser:/);
      expect(c.env).toContainEqual({ name: 'SLUICE_CHROMIUM', value: '/usr/bin/chromium' });
      const shm = browser.volumes.find((v: { name: string }) => v.name === 'shm');
      expect(shm.emptyDir.medium).toBe('Memory');
    });
});
