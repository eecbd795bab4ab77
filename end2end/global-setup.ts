// Waits until the server that cargo-leptos started answers its health check.
// With E2E_CLUSTER_DATABASE_URL and E2E_CLUSTER_REDIS_URL set (make test sets
// them), also starts two more nodes of the same release build on MariaDB and
// Redis, for the two-node browser test; they stop when the suite ends.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

import { clusterNodes } from "./tests/cluster-nodes";

const address = process.env.LEPTOS_SITE_ADDR ?? "127.0.0.1:3000";
// The suite runs from end2end/; the build is in the workspace's target/.
const workspace = path.resolve(process.cwd(), "..");

/** Polls `url` (each request bounded to 5 s) until `ready` says yes, for up to 2 minutes. */
async function waitFor(
  url: string,
  ready: (body: unknown, status: number) => boolean,
  alive: () => string | null = () => null,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    const died = alive();
    if (died) throw new Error(`${url}: ${died}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const body = await response.json().catch(() => null);
      if (ready(body, response.status)) return;
      lastError = new Error(`${url} answered ${response.status} ${JSON.stringify(body)}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} never became ready: ${lastError}`);
}

/** Sends SIGTERM to each node and waits (10 s at most each) until it has exited. */
async function stopAll(nodes: ChildProcess[]): Promise<void> {
  await Promise.all(
    nodes.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => {
            child.kill("SIGKILL");
            resolve();
          }, 10_000);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  await waitFor(`http://${address}/healthz`, (_, status) => status === 200);

  const nodes: ChildProcess[] = [];
  const database = process.env.E2E_CLUSTER_DATABASE_URL;
  const redis = process.env.E2E_CLUSTER_REDIS_URL;
  try {
    if (database && redis) {
      // One after the other: the first applies the migrations.
      for (const node of clusterNodes) {
        const child = spawn(path.join(workspace, "target/release/server"), [], {
          env: {
            ...process.env,
            DATABASE_URL: database,
            REDIS_URL: redis,
            LEPTOS_SITE_ADDR: node,
            LEPTOS_SITE_ROOT: path.join(workspace, "target/site"),
            LEPTOS_SITE_PKG_DIR: "pkg",
            LEPTOS_OUTPUT_NAME: "chatapp",
            LEPTOS_HASH_FILES: "true",
            LEPTOS_ENV: "PROD",
          },
          stdio: ["ignore", "ignore", "inherit"],
        });
        nodes.push(child);
        // A node that exits (say, its port is taken by a stale one) fails
        // the setup at once instead of letting a stranger answer for it.
        const died = () =>
          child.exitCode !== null || child.signalCode !== null
            ? `the node on ${node} exited (${child.exitCode ?? child.signalCode})`
            : null;
        await waitFor(`http://${node}/readyz`, (body) => (body as { status?: string })?.status === "ok", died);
      }
    }
  } catch (error) {
    await stopAll(nodes);
    throw error;
  }
  return async () => {
    await stopAll(nodes);
  };
}
