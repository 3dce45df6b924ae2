// Types of the demo portal, for the tests that start it.
export declare const DEMO_USER: { username: string; password: string };
export interface DemoPortal {
  url: string;
  notifications: { at: string; body: string }[];
  close(): Promise<void>;
}
export declare function startPortal(port?: number): Promise<DemoPortal>;
