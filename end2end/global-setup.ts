// Waits until the server that cargo-leptos started answers its health check.
const address = process.env.LEPTOS_SITE_ADDR ?? "127.0.0.1:3000";

export default async function globalSetup(): Promise<void> {
  const deadline = Date.now() + 120_000;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${address}/healthz`);
      if (response.ok) return;
      lastError = new Error(`healthz answered ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`server at ${address} never became healthy: ${lastError}`);
}
