// The companion of portal-report.yaml: `sluice serve --example examples/portal-report.yaml`
// starts the demo portal with the server and stores the credential the pipeline signs in with.
import { DEMO_USER, startPortal } from './portal/server.mjs';

/** The port portal-report.yaml's `portal` parameter points at by default. */
const PORT = Number(process.env.SLUICE_PORTAL_PORT ?? 8099);

export async function start() {
  const portal = await startPortal(PORT).catch((err) => {
    throw err.code === 'EADDRINUSE'
      ? new Error(
          `port ${PORT} is in use; set SLUICE_PORTAL_PORT to a free port and the pipeline's portal parameter to match`,
        )
      : err;
  });
  return {
    url: portal.url,
    label: 'demo portal (sign-in and reports; notifications at /notifications)',
    credentials: [
      {
        name: 'demo-portal',
        connectorType: 'browser',
        description: 'Sign-in of the demo portal that examples/portal-report.yaml downloads its reports from',
        data: { ...DEMO_USER },
      },
    ],
    close: portal.close,
  };
}
