import { expect, test } from "@playwright/test";
import { waitForHydration, watchForPageErrors } from "./helpers";

test("the optimised wasm instantiates and hydrates: a click handler works", async ({ page }) => {
  const errors = watchForPageErrors(page);
  await page.goto("/login");
  await waitForHydration(page);
  const password = page.getByLabel("Password", { exact: true });
  await expect(password).toHaveAttribute("type", "password");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(password).toHaveAttribute("type", "text");
  await page.getByRole("button", { name: "Hide" }).click();
  await expect(password).toHaveAttribute("type", "password");
  expect(errors).toEqual([]);
});

test("static assets are hashed, compressed and cached for a year", async ({ page, request }) => {
  await page.goto("/login");
  await waitForHydration(page); // by then the wasm has been fetched
  const wasmPath = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((entry) => new URL(entry.name).pathname)
      .find((path) => path.endsWith(".wasm")),
  );
  expect(wasmPath).toMatch(/^\/pkg\/chatapp\.[A-Za-z0-9_-]+\.wasm$/);
  const response = await request.get(wasmPath!, { headers: { "Accept-Encoding": "br, gzip" } });
  expect(response.status()).toBe(200);
  expect(response.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  expect(["br", "gzip"]).toContain(response.headers()["content-encoding"]);
});
