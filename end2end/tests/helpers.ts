import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, type Browser, type BrowserContextOptions, type Locator, type Page } from "@playwright/test";

let counter = 0;

/** A username no earlier run used (the e2e database is fresh, but be safe). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

export const PASSWORD = "correct horse battery";

/** Fails the test on any uncaught error in the page (such as a wasm start-up failure). */
export function watchForPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

/** Waits until the WASM has hydrated the page (it marks <body> when done). */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1, { timeout: 30_000 });
}

/**
 * Saves a screenshot under target/e2e/screenshots/ (never into docs/: the
 * README's pictures are refreshed on purpose, with `make screenshots`).
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `../target/e2e/screenshots/${name}.png` });
}

/** WCAG relative luminance of a CSS `rgb(r, g, b)` colour. */
export function luminance(color: string): number {
  const channels = color.match(/\d+(\.\d+)?/g);
  if (!channels || channels.length < 3) throw new Error(`not an rgb() colour: ${color}`);
  const [r, g, b] = channels.slice(0, 3).map((value) => {
    const c = Number(value) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio between two CSS colours (1 to 21). */
export function contrast(foreground: string, background: string): number {
  const [light, dark] = [luminance(foreground), luminance(background)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}

/** Registers through the UI in a fresh browser context; returns its page on the chat. */
export async function registerInNewContext(
  browser: Browser,
  username: string,
  options: BrowserContextOptions = {},
): Promise<Page> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto("/register");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator(".me-name")).toHaveText(username);
  return page;
}

/** A person's link in the People list (the conversation list links to them too). */
export function personLink(page: Page, username: string): Locator {
  return page.getByRole("navigation", { name: "People" }).getByRole("link", { name: username, exact: true });
}

// make test points the server's file outbox here (MAIL_OUTBOX_DIR).
const outbox = path.resolve(process.cwd(), "..", process.env.MAIL_OUTBOX_DIR ?? "target/e2e/outbox");

/** The link to `route` (such as "/reset-password") in the newest e-mail to `address` that has one. */
export function linkFor(address: string, route: string): string | null {
  let files: string[];
  try {
    // Whole mails only: the server writes each aside, then renames it to .eml.
    files = readdirSync(outbox)
      .filter((file) => file.endsWith(".eml"))
      .sort();
  } catch {
    return null;
  }
  for (const file of files.reverse()) {
    const mail = readFileSync(path.join(outbox, file), "utf8").replace(/=\r?\n/g, "");
    if (!mail.includes(`To: ${address}`)) continue;
    const match = mail.match(/https?:\/\/\S+?\?token=[0-9a-f]{64}/);
    if (match && new URL(match[0]).pathname === route) return match[0];
  }
  return null;
}
